package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/testenv"
)

// legacyServer is an OpenAI-compatible stand-in for LiteLLM that says who
// answered.
func legacyServer(t *testing.T, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeJSON(w, 200, map[string]any{"id": "l", "object": "chat.completion", "model": "gpt-4o-mini",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "legacy says hi"}}},
			"usage":   map[string]any{"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMigrationPhase4 runs the runbook's phase 4 against one replica: 10%
// on the new side, sticky per user, raised to 50% without moving anyone
// back, then rolled back with `cato rollout rollback`.
func TestMigrationPhase4(t *testing.T) {
	var legacyCalls atomic.Int32
	legacy := legacyServer(t, &legacyCalls)
	base := gateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
  legacy: {provider: openai, base_url: %q, model_id: gpt-4o-mini}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
rollout: {percentage: 10, legacy: legacy}
`, legacy.URL+"/v1"), "CATO_ADMIN_KEY=admin")

	side := func(user string) string {
		resp, body := post(t, base+"/v1/chat/completions", fmt.Sprintf(`{"model":"auto","user":%q,"messages":[{"role":"user","content":"What is 2+2?"}]}`, user))
		if resp.StatusCode != 200 {
			t.Fatalf("user %s: %d %s", user, resp.StatusCode, body)
		}
		s := resp.Header.Get("X-Cato-Side")
		if (s == "legacy") != strings.Contains(string(body), "legacy says hi") {
			t.Fatalf("user %s: X-Cato-Side %s but body %s", user, s, body)
		}
		return s
	}
	const users = 400
	first := map[string]string{}
	onNew := 0
	for i := range users {
		u := fmt.Sprintf("user-%d", i)
		first[u] = side(u)
		if first[u] == "new" {
			onNew++
		}
	}
	// 10% of 400 is 40; three standard deviations is about 18.
	if onNew < 22 || onNew > 58 {
		t.Errorf("%d of %d users on the new side at 10%%; want about 40", onNew, users)
	}
	for i := range 50 {
		u := fmt.Sprintf("user-%d", i)
		if got := side(u); got != first[u] {
			t.Fatalf("user %s moved from %s to %s at the same percentage", u, first[u], got)
		}
	}

	set := func(p int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, base+"/api/admin/cato/rollout", strings.NewReader(fmt.Sprintf(`{"use_new_orchestrator":{"percentage":%d}}`, p)))
		req.Header.Set("Authorization", "Bearer admin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT rollout %d: status %d", p, resp.StatusCode)
		}
	}
	set(50)
	for u, was := range first {
		if was == "new" && side(u) != "new" {
			t.Fatalf("raising to 50%% moved %s from new back to legacy", u)
		}
	}
	set(0)
	for i := range 50 {
		if got := side(fmt.Sprintf("user-%d", i)); got != "legacy" {
			t.Fatalf("after rollback a user was served by %s; want legacy", got)
		}
	}
	st := decode[struct {
		Rollout struct {
			Percentage float64           `json:"percentage"`
			Traffic    map[string]uint64 `json:"traffic"`
			History    []struct {
				Percentage float64 `json:"percentage"`
			} `json:"history"`
		} `json:"rollout"`
	}](t, adminGet(t, base+"/api/admin/cato/status"))
	if st.Rollout.Percentage != 0 || st.Rollout.Traffic["legacy"] == 0 || st.Rollout.Traffic["new"] == 0 {
		t.Errorf("status rollout = %+v; want 0%% with traffic on both sides", st.Rollout)
	}
	if int(legacyCalls.Load()) != int(st.Rollout.Traffic["legacy"]) {
		t.Errorf("legacy upstream saw %d calls; status counts %d", legacyCalls.Load(), st.Rollout.Traffic["legacy"])
	}
}

// TestAutomaticRollback: when the new side's error rate passes the
// guardrail with enough samples in the window, Cato sets the percentage to
// 0 by itself and later requests are served by the legacy side. It runs on
// a fake clock, and makes the guard's once-a-second check itself.
func TestAutomaticRollback(t *testing.T) {
	cfg, err := config.Parse([]byte(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated, simulate: {error_rate: 1, error_status: 500}}
  bedrock_sonnet: {provider: simulated, simulate: {error_rate: 1, error_status: 500}}
  shadow_self: {provider: simulated, simulate: {error_rate: 1, error_status: 500}}
  legacy: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
retries: {max_attempts: 1}
rollout:
  percentage: 100
  legacy: legacy
  auto_rollback: {enabled: true, error_rate: 0.01, min_requests: 20, window: 30s}
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	clock := &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	a, err := newApp(t.Context(), cfg, nil, slog.New(slog.DiscardHandler), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServing(t, a)

	send := func(i int) *http.Response {
		resp, _ := post(t, base+"/v1/chat/completions", fmt.Sprintf(`{"model":"auto","user":"u%d","cato":{"cache":false},"messages":[{"role":"user","content":"What is 2+2?"}]}`, i))
		return resp
	}
	sendFailing := func(n int) {
		t.Helper()
		for i := range n {
			if resp := send(i); resp.StatusCode < 500 || resp.Header.Get("X-Cato-Side") != "new" {
				t.Fatalf("request %d: status %d from side %q; want the new side's failure", i, resp.StatusCode, resp.Header.Get("X-Cato-Side"))
			}
		}
	}
	// check is the guard's periodic check, made now. (Its own loop may
	// check too, at any moment: on the same clock and figures it decides
	// the same.)
	check := func() {
		t.Helper()
		if _, err := a.migration.guard.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	sendFailing(10)
	check()
	sendFailing(1) // still the new side: 11 failures, below the minimum of 20

	clock.Advance(31 * time.Second) // the 11 failures leave the 30s window
	sendFailing(15)
	check()
	sendFailing(1) // still the new side: 26 failures in all, 16 in the window

	sendFailing(4) // 20 in the window
	check()
	if resp := send(1); resp.Header.Get("X-Cato-Side") != "legacy" || resp.StatusCode != 200 {
		t.Fatalf("after 20 failures in the window: status %d from side %q; want the legacy side's answer", resp.StatusCode, resp.Header.Get("X-Cato-Side"))
	}
	if !strings.Contains(get(t, base+"/metrics"), "cato_rollout_auto_rollbacks_total 1") {
		t.Error("/metrics does not count the automatic rollback")
	}
}

// fakeClock is a clock that moves only when told; it is safe for
// concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRollbackReachesEveryReplica: a rollback through one of two replicas
// sharing Redis takes both to 0 within 2 seconds.
func TestRollbackReachesEveryReplica(t *testing.T) {
	url := testenv.RedisURL(t)
	start := func() string {
		base, _ := serve(t, `
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
  legacy: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
rollout: {percentage: 100, legacy: legacy}
`, url, "CATO_ADMIN_KEY=admin")
		return base
	}
	a, b := start(), start()
	percentage := func(base string) float64 {
		return decode[struct {
			Flag struct {
				Percentage float64 `json:"percentage"`
			} `json:"use_new_orchestrator"`
		}](t, adminGet(t, base+"/api/admin/cato/rollout")).Flag.Percentage
	}
	if p := percentage(b); p != 100 {
		t.Fatalf("replica b starts at %v%%; want 100", p)
	}
	req, _ := http.NewRequest(http.MethodPut, a+"/api/admin/cato/rollout", strings.NewReader(`{"use_new_orchestrator":{"percentage":0}}`))
	req.Header.Set("Authorization", "Bearer admin")
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The flag in the store changes first; what counts is the side replica
	// b serves, which follows once its poller hears of the change.
	side := func() string {
		r, _ := post(t, b+"/v1/chat/completions", `{"model":"auto","user":"u1","messages":[{"role":"user","content":"hi"}]}`)
		return r.Header.Get("X-Cato-Side")
	}
	// Only a request begun past 2s and still served by the new side
	// refutes the bound: one that a busy machine slowed down past it does
	// not.
	for {
		asked := time.Now()
		if side() == "legacy" {
			break
		}
		if asked.Sub(began) > 2*time.Second {
			t.Fatalf("replica b still serves the new side %v after the rollback on replica a; want within 2s", asked.Sub(began))
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("rollback reached the other replica in %v", time.Since(began))
	if p := percentage(b); p != 0 {
		t.Errorf("after the rollback replica b reports %v%%; want 0", p)
	}
}
