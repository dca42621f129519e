package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
)

const responsesBody = `{"model":"auto","user":"u-1","input":"What is 2+2?","metadata":{"k":"v"}}`

// On the legacy side a Responses request is proxied as sent to the legacy
// server's /v1/responses; on the new side it is answered by the
// orchestrator, and a mirrored copy reaches the legacy server as the
// equivalent chat completion.
func TestRolloutResponses(t *testing.T) {
	t.Run("legacy", func(t *testing.T) {
		type got struct{ path, body string }
		gotc := make(chan got, 1)
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			gotc <- got{r.URL.Path, string(b)}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"resp_legacy","object":"response","status":"completed","output":[]}`)
		}))
		defer up.Close()
		leg, err := rollout.NewLegacy(rollout.LegacyOptions{BaseURL: up.URL + "/v1"})
		if err != nil {
			t.Fatal(err)
		}
		defer leg.Close()
		orch := orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: &newModel{asked: make(chan string, 1)}, Router: oneRoute{}})
		s := New(Options{Orchestrator: orch, Rollout: &Rollout{
			Decider: rollout.NewDecider(rollout.Flag{Percentage: 0}, rollout.DeciderOptions{}), Legacy: leg,
		}})
		srv := httptest.NewServer(s)
		defer srv.Close()
		resp, err := http.Post(srv.URL+"/v1/responses", "application/json", strings.NewReader(responsesBody))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "resp_legacy") || resp.Header.Get(rollout.HeaderSide) != "legacy" {
			t.Fatalf("answer = %d %s; want the legacy server's", resp.StatusCode, b)
		}
		if g := <-gotc; g.path != "/v1/responses" || g.body != responsesBody {
			t.Errorf("legacy server got %s %s; want the request unchanged at /v1/responses", g.path, g.body)
		}
	})
	t.Run("new, mirrored", func(t *testing.T) {
		rig := newRolloutRig(t, rigOptions{percentage: 100, shadow: 100})
		resp, body, err := rig.post(t, "/v1/responses", responsesBody)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get(rollout.HeaderSide) != "new" {
			t.Fatalf("got %d %s, %v; want 200 from the new side", resp.StatusCode, body, err)
		}
		var out struct {
			Object   string            `json:"object"`
			Status   string            `json:"status"`
			Metadata map[string]string `json:"metadata"`
			Output   []struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"output"`
			Cato struct {
				Model string `json:"model"`
			} `json:"cato"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		if out.Object != "response" || out.Status != "completed" || out.Output[0].Content[0].Text != "new says hi" || out.Metadata["k"] != "v" || out.Cato.Model != "m" {
			t.Errorf("answer = %s; want a completed response saying new says hi, with the metadata and the cato object", body)
		}
		if q := <-rig.asked; q != "What is 2+2?" {
			t.Errorf("new side asked %q", q)
		}
		st := waitShadow(t, rig.shadow)
		sent := <-rig.legacy
		if msgs, _ := sent["messages"].([]any); len(msgs) != 1 || sent["user"] != "u-1" || st.Compared != 1 {
			t.Errorf("legacy mirror got %v (shadow %+v); want the request as a chat completion, compared once", sent, st)
		}
	})
}
