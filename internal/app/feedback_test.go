package app

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/testenv"
)

const feedbackConfig = `
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
  legacy: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
rollout: {percentage: 50, legacy: legacy, side_header: true}
feedback: {refresh: 20ms}
`

// redisPrefixed is the test Redis with a key prefix of the test's own.
func redisPrefixed(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return testenv.RedisURL(t) + "?prefix=test-" + hex.EncodeToString(b) + ":"
}

// ask sends one chat request forced to side and returns its request id
// and the model that answered.
func ask(t *testing.T, base, side, user string) (string, string) {
	t.Helper()
	resp, body := post(t, base+"/v1/chat/completions", fmt.Sprintf(`{"model":"auto","user":%q,"messages":[{"role":"user","content":"What is 2+2?"}]}`, user), "X-Cato-Side", side)
	if resp.StatusCode != 200 || resp.Header.Get("X-Cato-Side") != side {
		t.Fatalf("ask on %s: %d from side %q: %s", side, resp.StatusCode, resp.Header.Get("X-Cato-Side"), body)
	}
	model := resp.Header.Get("X-Cato-Model")
	if side == "legacy" {
		model = "legacy"
	}
	return resp.Header.Get("X-Request-Id"), model
}

type feedbackAnswer struct {
	RequestID string `json:"request_id"`
	User      string `json:"user"`
	Verdict   string `json:"verdict"`
	Side      string `json:"side"`
	Model     string `json:"model"`
	Route     string `json:"route"`
	Cached    bool   `json:"cached"`
	Replaced  bool   `json:"replaced"`
	Error     *struct {
		Type string `json:"type"`
		Code string `json:"code"`
	} `json:"error"`
}

// rate posts body to /api/cato/feedback. An answer is remembered off the
// request path, so a 404 is retried for up to 15s when want is not 404.
func rate(t *testing.T, base, body string, want int, header ...string) feedbackAnswer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, b := post(t, base+"/api/cato/feedback", body, header...)
		if resp.StatusCode == http.StatusNotFound && want != http.StatusNotFound && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if resp.StatusCode != want {
			t.Fatalf("feedback %s: %d %s; want %d", body, resp.StatusCode, b, want)
		}
		return decode[feedbackAnswer](t, b)
	}
}

type satisfactionStatus struct {
	Rollout struct {
		Satisfaction map[string]feedback.Satisfaction `json:"satisfaction"`
	} `json:"rollout"`
	Satisfaction struct {
		Models map[string]feedback.Satisfaction `json:"models"`
	} `json:"satisfaction"`
}

// waitSatisfaction reads /status until ok holds, for up to 15s: the counts
// are read back from the store every feedback.refresh.
func waitSatisfaction(t *testing.T, base string, ok func(satisfactionStatus) bool) satisfactionStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := decode[satisfactionStatus](t, adminGet(t, base+"/api/admin/cato/status"))
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status satisfaction = %+v; condition not met within 15s", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFeedbackThroughAPI rates answers of both sides through the HTTP API
// on every store backend: by body and by header, replaced without double
// counting, refused when malformed, and counted per side and model in
// /status and /metrics; the comment is never logged.
func TestFeedbackThroughAPI(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return "embedded://" + t.TempDir() },
		"redis":    redisPrefixed,
		"postgres": func(t *testing.T) string { return postgresSchema(t, testenv.PostgresURL(t)) },
		"dynamodb": dynamoTable,
	}
	for name, storeURL := range backends {
		t.Run(name, func(t *testing.T) {
			logs := &syncBuffer{}
			base := serveLogged(t, feedbackConfig, storeURL(t), slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}), "CATO_ADMIN_KEY=admin")
			newID, newModel := ask(t, base, "new", "alice")
			legacyID, _ := ask(t, base, "legacy", "bob")

			const comment = "the answer was wrong-7f3a9"
			got := rate(t, base, fmt.Sprintf(`{"request_id":%q,"rating":-1,"user":"alice","comment":%q}`, newID, comment), 200)
			if got.Side != "new" || got.Model != newModel || got.Route != "chat" || got.Verdict != "negative" || got.Replaced || got.User != "alice" {
				t.Errorf("first rating = %+v; want new side, model %s, route chat, negative, not replaced", got, newModel)
			}
			// The same user again replaces the first rating.
			got = rate(t, base, fmt.Sprintf(`{"request_id":%q,"rating":1,"user":"alice"}`, newID), 200)
			if !got.Replaced || got.Verdict != "positive" {
				t.Errorf("second rating = %+v; want replaced, positive", got)
			}
			// By the X-Request-Id header of the rated answer, on five stars.
			got = rate(t, base, `{"rating":2,"scale":"stars","user":"bob"}`, 200, "X-Request-Id", legacyID)
			if got.Side != "legacy" || got.Model != "legacy" || got.RequestID != legacyID || got.Verdict != "negative" {
				t.Errorf("rating by header = %+v; want the legacy answer, negative", got)
			}

			for _, bad := range []struct {
				body   string
				status int
				code   string
			}{
				{`{"request_id":"never-given","rating":1}`, 404, "request_not_found"},
				{fmt.Sprintf(`{"request_id":%q,"rating":7}`, newID), 400, "invalid_feedback"},
				{fmt.Sprintf(`{"request_id":%q,"rating":-2}`, newID), 400, "invalid_feedback"},
				{fmt.Sprintf(`{"request_id":%q,"rating":1.5}`, newID), 400, "invalid_feedback"},
				{fmt.Sprintf(`{"request_id":%q}`, newID), 400, "invalid_feedback"},
				{fmt.Sprintf(`{"request_id":%q,"rating":1,"stars":5}`, newID), 400, "invalid_feedback"},
				{fmt.Sprintf(`{"request_id":%q,"rating":1,"comment":%q}`, newID, strings.Repeat("x", feedback.MaxCommentBytes+1)), 400, "invalid_feedback"},
				{`{"rating":1}`, 400, "invalid_feedback"},
				{`not json`, 400, "invalid_feedback"},
			} {
				e := rate(t, base, bad.body, bad.status)
				typ := "invalid_request_error"
				if bad.status == 404 {
					typ = "not_found_error"
				}
				if e.Error == nil || e.Error.Code != bad.code || e.Error.Type != typ {
					t.Errorf("feedback %.60s: error %+v; want code %s of type %s", bad.body, e.Error, bad.code, typ)
				}
			}

			st := waitSatisfaction(t, base, func(st satisfactionStatus) bool {
				return st.Rollout.Satisfaction["new"].Ratings == 1 && st.Rollout.Satisfaction["legacy"].Ratings == 1
			})
			if n := st.Rollout.Satisfaction["new"]; n.Positive != 1 || n.Negative != 0 || n.NegativeShare != 0 {
				t.Errorf("new side = %+v; want the replacing positive rating only", n)
			}
			if l := st.Rollout.Satisfaction["legacy"]; l.Negative != 1 || l.NegativeShare != 1 {
				t.Errorf("legacy side = %+v; want one negative", l)
			}
			if m := st.Satisfaction.Models[newModel]; m.Ratings != 1 || m.Positive != 1 {
				t.Errorf("satisfaction.models[%s] = %+v; want one positive", newModel, m)
			}
			metrics := get(t, base+"/metrics")
			for _, want := range []string{
				fmt.Sprintf(`cato_feedback_ratings_total{model=%q,side="new",verdict="negative"} 1`, newModel),
				`cato_feedback_ratings_total{model="legacy",side="legacy",verdict="negative"} 1`,
				`cato_feedback_negative_share{side="legacy"} 1`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if strings.Contains(logs.String(), "wrong-7f3a9") {
				t.Error("the comment reached the log")
			}
		})
	}
}

// TestFeedbackAcrossReplicas: with two replicas sharing Redis, an answer
// given by one is rated through the other, and the rating counts in both
// replicas' status.
func TestFeedbackAcrossReplicas(t *testing.T) {
	storeURL := redisPrefixed(t)
	a, _ := serve(t, feedbackConfig, storeURL, "CATO_ADMIN_KEY=admin")
	b, _ := serve(t, feedbackConfig, storeURL, "CATO_ADMIN_KEY=admin")
	id, model := ask(t, a, "new", "carol")
	got := rate(t, b, fmt.Sprintf(`{"request_id":%q,"rating":-1,"user":"carol"}`, id), 200)
	if got.Side != "new" || got.Model != model {
		t.Fatalf("rating on replica b = %+v; want replica a's answer by %s", got, model)
	}
	// A second rating by the same user on the other replica replaces it.
	if got := rate(t, a, fmt.Sprintf(`{"request_id":%q,"rating":-1,"user":"carol"}`, id), 200); !got.Replaced {
		t.Errorf("rating again on replica a = %+v; want replaced", got)
	}
	for _, base := range []string{a, b} {
		st := waitSatisfaction(t, base, func(st satisfactionStatus) bool { return st.Rollout.Satisfaction["new"].Ratings > 0 })
		if n := st.Rollout.Satisfaction["new"]; n.Ratings != 1 || n.Negative != 1 || st.Satisfaction.Models[model].Negative != 1 {
			t.Errorf("%s: satisfaction = %+v; want the one negative rating", base, st)
		}
	}
}
