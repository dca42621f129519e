package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/router"
)

// newModel is the new side's only model: it answers "new says hi", in one
// piece or streamed, and reports the question of every call on asked.
type newModel struct {
	asked chan string
}

func (m *newModel) Chat(_ context.Context, chain []string, req *llm.Request) (provider.Answer, error) {
	m.asked <- req.LastUserText()
	return provider.Answer{Model: chain[0], Response: &llm.Response{
		Message: llm.Message{Role: llm.RoleAssistant, Content: "new says hi"}, FinishReason: llm.FinishStop,
	}}, nil
}

func (m *newModel) ChatStream(_ context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error) {
	m.asked <- req.LastUserText()
	return provider.StreamAnswer{Model: chain[0], Stream: llm.NewSliceStream(
		llm.Chunk{Role: llm.RoleAssistant}, llm.Chunk{Content: "new "}, llm.Chunk{Content: "says hi"}, llm.Chunk{FinishReason: llm.FinishStop},
	)}, nil
}

type oneRoute struct{}

func (oneRoute) Decide(context.Context, router.Input) (router.Decision, error) {
	return router.Decision{Primary: "m", Fallbacks: []string{}, Reason: "the only model", Rule: "simple"}, nil
}

// legacyUpstream is an OpenAI-compatible stand-in for the legacy server:
// it answers "legacy says hi" as JSON or, when asked for a stream, as
// server-sent events, and reports every body it gets on got. With
// breakOff it sends the first part of its answer and closes the
// connection.
func legacyUpstream(t *testing.T, breakOff bool) (*httptest.Server, chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		got <- body
		cut := func() {
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			for i, tok := range []string{"legacy ", "says ", "hi"} {
				fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", tok)
				if breakOff && i == 0 {
					cut()
					return
				}
			}
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		answer := `{"id":"l-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"legacy says hi"},"finish_reason":"stop"}]}`
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
		if breakOff {
			io.WriteString(w, answer[:len(answer)/2])
			cut()
			return
		}
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// rolloutRig is a Server with a rollout at percentage (0: all legacy,
// 100: all new) in front of a new side (newModel) and a legacy upstream.
type rolloutRig struct {
	srv    *httptest.Server
	asked  chan string         // questions the new side's model got
	legacy chan map[string]any // bodies the legacy upstream got
	stats  *rollout.Stats
	shadow *rollout.Shadow
	served chan struct{} // a request's handlers all returned
}

type rigOptions struct {
	percentage float64
	shadow     float64 // shadow percentage
	breakOff   bool    // the legacy upstream breaks its answers off
	http2      bool    // the client speaks HTTP/2 to Cato
}

func newRolloutRig(t *testing.T, o rigOptions) *rolloutRig {
	t.Helper()
	up, got := legacyUpstream(t, o.breakOff)
	leg, err := rollout.NewLegacy(rollout.LegacyOptions{BaseURL: up.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leg.Close() })
	rig := &rolloutRig{
		asked: make(chan string, 10), legacy: got, served: make(chan struct{}, 10),
		stats:  rollout.NewStats(rollout.StatsOptions{}),
		shadow: rollout.NewShadow(rollout.ShadowOptions{Percentage: o.shadow}),
	}
	t.Cleanup(func() { rig.shadow.Close() })
	orch := orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: &newModel{asked: rig.asked}, Router: oneRoute{}})
	s := New(Options{Orchestrator: orch, Rollout: &Rollout{
		Decider: rollout.NewDecider(rollout.Flag{Percentage: o.percentage}, rollout.DeciderOptions{}),
		Legacy:  leg, LegacyModel: "legacy-model", Shadow: rig.shadow, Stats: rig.stats,
	}})
	rig.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { rig.served <- struct{}{} }() // also when ServeHTTP aborts
		s.ServeHTTP(w, r)
	}))
	if o.http2 {
		rig.srv.EnableHTTP2 = true
		rig.srv.StartTLS()
	} else {
		rig.srv.Start()
	}
	t.Cleanup(rig.srv.Close)
	return rig
}

// post sends body to path, reads the whole answer and waits until the
// server is done with the request (counted, mirrored); readErr is the
// error that ended reading the answer, nil for a clean end.
func (rig *rolloutRig) post(t *testing.T, path, body string) (resp *http.Response, answer string, readErr error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, rig.srv.URL+path, strings.NewReader(body))
	resp, err := rig.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(resp.Body)
	select {
	case <-rig.served:
	case <-time.After(15 * time.Second):
		t.Fatalf("POST %s: the server did not finish within 15s", path)
	}
	return resp, string(b), readErr
}

const (
	chatBody   = `{"model":"auto","user":"u-1","messages":[{"role":"user","content":"What is 2+2?"}]}`
	streamBody = `{"model":"auto","user":"u-1","stream":true,"messages":[{"role":"user","content":"What is 2+2?"}]}`
	queryBody  = `{"query":"What is 2+2?","user":"u-1"}`
)

func (rig *rolloutRig) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := rig.srv.Client().Get(rig.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	<-rig.served
	return string(b)
}

// answerText reads the answer's text from a chat completion, a stream of
// chunks or a query answer.
func answerText(t *testing.T, path, body string) string {
	t.Helper()
	if path == "/api/cato/query" {
		var q queryResponse
		if err := json.Unmarshal([]byte(body), &q); err != nil {
			t.Fatalf("query answer %q: %v", body, err)
		}
		return q.Response
	}
	if strings.HasPrefix(body, "data:") {
		var text strings.Builder
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || data == "[DONE]" {
				continue
			}
			var c struct {
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if json.Unmarshal([]byte(data), &c) == nil && len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		return text.String()
	}
	var c struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil || len(c.Choices) == 0 {
		t.Fatalf("chat answer %q: %v", body, err)
	}
	return c.Choices[0].Message.Content
}

var endpoints = []struct {
	name, route, path, body string
}{
	{"chat", "chat", "/v1/chat/completions", chatBody},
	{"chat stream", "chat", "/v1/chat/completions", streamBody},
	{"query", "query", "/api/cato/query", queryBody},
}

// The rollout answers each endpoint on the side the flag says, and counts
// and times the request on that side.
func TestRolloutServesEachSide(t *testing.T) {
	for _, ep := range endpoints {
		for _, side := range []rollout.Side{rollout.SideLegacy, rollout.SideNew} {
			t.Run(ep.name+" on "+side.String(), func(t *testing.T) {
				pct := 0.0
				if side == rollout.SideNew {
					pct = 100
				}
				rig := newRolloutRig(t, rigOptions{percentage: pct})
				resp, body, err := rig.post(t, ep.path, ep.body)
				if err != nil || resp.StatusCode != 200 || resp.Header.Get(rollout.HeaderSide) != side.String() {
					t.Fatalf("got %d (side %q) %q, %v; want 200 from the %s side", resp.StatusCode, resp.Header.Get(rollout.HeaderSide), body, err, side)
				}
				want, model := "new says hi", "m"
				if side == rollout.SideLegacy {
					want, model = "legacy says hi", "legacy"
				}
				if got := answerText(t, ep.path, body); got != want {
					t.Errorf("answer %q; want %q", got, want)
				}
				if side == rollout.SideLegacy {
					sent := <-rig.legacy
					if msgs, _ := sent["messages"].([]any); len(msgs) != 1 || sent["user"] != "u-1" {
						t.Errorf("legacy upstream got %v; want the question as a chat completion", sent)
					}
				} else if q := <-rig.asked; q != "What is 2+2?" {
					t.Errorf("new side asked %q", q)
				}
				if n := len(rig.legacy) + len(rig.asked); n != 0 {
					t.Errorf("%d more calls than the one answer; want none without shadow traffic", n)
				}
				sides := rig.stats.Sides()
				if sides[side.String()].Requests != 1 || sides[side.Other().String()].Requests != 0 || sides[side.String()].Errors != 0 {
					t.Errorf("stats %+v; want one good request on the %s side", sides, side)
				}
				got := rig.get(t, "/metrics")
				for _, line := range []string{
					fmt.Sprintf(`cato_requests_total{code="200",model=%q,route=%q} 1`, model, ep.route),
					fmt.Sprintf(`cato_rollout_request_duration_seconds_count{side=%q} 1`, side),
				} {
					if !strings.Contains(got, line+"\n") {
						t.Errorf("/metrics lacks %s", line)
					}
				}
				if other := fmt.Sprintf(`cato_rollout_request_duration_seconds_count{side=%q}`, side.Other()); strings.Contains(got, other) {
					t.Errorf("/metrics has %s; the other side served nothing", other)
				}
			})
		}
	}
}

// With shadow traffic on, each answer is mirrored to the other side and
// the two answers compared, whichever side served the client.
func TestRolloutShadow(t *testing.T) {
	for _, ep := range endpoints {
		for _, primary := range []rollout.Side{rollout.SideLegacy, rollout.SideNew} {
			t.Run(ep.name+" served by "+primary.String(), func(t *testing.T) {
				pct := 0.0
				if primary == rollout.SideNew {
					pct = 100
				}
				rig := newRolloutRig(t, rigOptions{percentage: pct, shadow: 100})
				resp, body, err := rig.post(t, ep.path, ep.body)
				if err != nil || resp.StatusCode != 200 || resp.Header.Get(rollout.HeaderSide) != primary.String() {
					t.Fatalf("got %d (side %q) %q, %v; want 200 from the %s side", resp.StatusCode, resp.Header.Get(rollout.HeaderSide), body, err, primary)
				}
				// One call on each side: the answer and its shadow.
				select {
				case <-rig.legacy:
				case <-time.After(15 * time.Second):
					t.Fatal("the legacy side got no call within 15s")
				}
				select {
				case q := <-rig.asked:
					if q != "What is 2+2?" {
						t.Errorf("new side asked %q", q)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("the new side got no call within 15s")
				}
				st := waitShadow(t, rig.shadow)
				// {legacy, says, hi} against {new, says, hi}: 2 words of 4.
				if st.Sent != 1 || st.Compared != 1 || st.ErrorMismatch != 0 || st.MeanSimilarity != 0.5 {
					t.Errorf("shadow stats %+v; want one pair compared, both answered, similarity 0.5", st)
				}
				if n := rig.stats.Sides()[primary.Other().String()].Requests; n != 0 {
					t.Errorf("the shadow side counts %d requests; want none: only the primary answer is counted", n)
				}
			})
		}
	}
}

// waitShadow waits until sh has compared one pair.
func waitShadow(t *testing.T, sh *rollout.Shadow) rollout.ShadowStats {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := sh.Stats()
		if st.Completed > 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no shadow comparison within 15s: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// A legacy stream that the upstream breaks off reaches the client broken,
// over HTTP/1 (the connection closes before the chunked body ends) and
// HTTP/2 (the stream is reset), never as a clean end; the legacy side
// counts a failure.
func TestRolloutAbortsBrokenLegacyStream(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			rig := newRolloutRig(t, rigOptions{percentage: 0, breakOff: true, http2: h2})
			resp, body, err := rig.post(t, "/v1/chat/completions", streamBody)
			if resp.StatusCode != 200 || resp.Header.Get(rollout.HeaderSide) != "legacy" || !strings.Contains(body, `"legacy "`) {
				t.Errorf("got %d (side %q) %q; want the legacy stream's first chunk", resp.StatusCode, resp.Header.Get(rollout.HeaderSide), body)
			}
			if err == nil {
				t.Errorf("the client read the broken stream %q to a clean end; want a read error", body)
			}
			if h2 != (resp.ProtoMajor == 2) {
				t.Errorf("answered over %s", resp.Proto)
			}
			if st := rig.stats.Sides()["legacy"]; st.Requests != 1 || st.Errors != 1 {
				t.Errorf("legacy stats %+v; want one failed request", st)
			}
		})
	}
}

// A query on the legacy side is not streamed to the client: when the
// upstream breaks its answer off, the client gets a 502, not half an
// answer.
func TestRolloutBrokenLegacyQuery(t *testing.T) {
	rig := newRolloutRig(t, rigOptions{percentage: 0, breakOff: true})
	resp, body, err := rig.post(t, "/api/cato/query", queryBody)
	var e struct {
		Error struct{ Code, Type string } `json:"error"`
	}
	if err != nil || resp.StatusCode != http.StatusBadGateway || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "legacy_unavailable" {
		t.Errorf("got %d %q, %v; want a whole 502 legacy_unavailable", resp.StatusCode, body, err)
	}
	if got := resp.Header.Get(rollout.HeaderSide); got != "legacy" {
		t.Errorf("X-Cato-Side = %q; want legacy", got)
	}
	if st := rig.stats.Sides()["legacy"]; st.Requests != 1 || st.Errors != 1 {
		t.Errorf("legacy stats %+v; want one failed request", st)
	}
}

// A legacy upstream that cannot be reached is answered with 502
// legacy_unavailable in OpenAI's error shape, on both endpoints.
func TestRolloutLegacyDown(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	dead := up.URL
	up.Close() // a refused port
	leg, err := rollout.NewLegacy(rollout.LegacyOptions{BaseURL: dead + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	stats := rollout.NewStats(rollout.StatsOptions{})
	s := New(Options{Rollout: &Rollout{
		Decider: rollout.NewDecider(rollout.Flag{Percentage: 0}, rollout.DeciderOptions{}), Legacy: leg, Stats: stats,
	}})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, ep := range endpoints {
		resp, err := http.Post(srv.URL+ep.path, "application/json", strings.NewReader(ep.body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Type string } `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || resp.Header.Get(rollout.HeaderSide) != "legacy" || err != nil || e.Error.Code != "legacy_unavailable" || e.Error.Type == "" {
			t.Errorf("%s: got %d (side %q) %+v, %v; want 502 legacy_unavailable in OpenAI's error shape", ep.name, resp.StatusCode, resp.Header.Get(rollout.HeaderSide), e, err)
		}
	}
	if st := stats.Sides()["legacy"]; st.Errors != uint64(len(endpoints)) {
		t.Errorf("legacy stats %+v; want every request failed", st)
	}
}
