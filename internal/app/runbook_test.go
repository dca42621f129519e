package app

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type queryAnswer struct {
	Response     string `json:"response"`
	Model        string `json:"model"`
	Cached       bool   `json:"cached"`
	FallbackUsed bool   `json:"fallback_used"`
	SessionID    string `json:"session_id"`
	Routing      struct {
		Primary    string   `json:"primary_model"`
		Fallbacks  []string `json:"fallback_chain"`
		Complexity float64  `json:"complexity"`
		Domain     string   `json:"domain"`
		Reason     string   `json:"reason"`
	} `json:"routing"`
	HiddenStates *struct {
		Dim    int       `json:"dim"`
		Values []float32 `json:"values"`
	} `json:"hidden_states"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	CostUSD  float64  `json:"cost_usd"`
	Degraded []string `json:"degraded"`
}

func query(t *testing.T, base, body string) queryAnswer {
	t.Helper()
	resp, b := post(t, base+"/api/cato/query", body)
	if resp.StatusCode != 200 {
		t.Fatalf("query %s: status %d: %s", body, resp.StatusCode, b)
	}
	return decode[queryAnswer](t, b)
}

// TestRunbookRouting is the migration runbook's week-5 check.
func TestRunbookRouting(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a")
	auth := func(body string) queryAnswer {
		resp, b := post(t, base+"/api/cato/query", body, "Authorization", "Bearer key-a")
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return decode[queryAnswer](t, b)
	}
	simple := auth(`{"query": "What is 2+2?", "session_id": "test-123"}`)
	if simple.Model != "bedrock_haiku" || !strings.HasPrefix(simple.Response, "4") {
		t.Errorf("simple query answered by %s: %q; want bedrock_haiku answering 4", simple.Model, simple.Response)
	}
	if simple.Routing.Reason == "" || simple.SessionID != "test-123" || simple.Usage.CompletionTokens == 0 || simple.CostUSD <= 0 {
		t.Errorf("simple answer lacks routing reason, session, usage or cost: %+v", simple)
	}
	complexQ := auth(`{"query": "Explain the implications of quantum computing on cryptography"}`)
	if complexQ.Model != "bedrock_sonnet" || complexQ.Routing.Complexity < 0.5 {
		t.Errorf("complex query answered by %s at complexity %.2f; want bedrock_sonnet", complexQ.Model, complexQ.Routing.Complexity)
	}
	hidden := auth(`{"query": "Summarise this", "return_hidden_states": true}`)
	if hidden.Model != "shadow_self" || hidden.HiddenStates == nil || hidden.HiddenStates.Dim != 4096 || len(hidden.HiddenStates.Values) != 4096 {
		t.Errorf("hidden-state query: model %s, hidden states %v; want shadow_self with 4096 values", hidden.Model, hidden.HiddenStates != nil)
	}

	// The dry run gives the same decision without calling a model.
	resp, b := post(t, base+"/api/cato/route", `{"query": "What is 2+2?"}`, "Authorization", "Bearer key-a")
	d := decode[struct {
		Primary   string   `json:"primary_model"`
		Fallbacks []string `json:"fallback_chain"`
		Reason    string   `json:"reason"`
	}](t, b)
	if resp.StatusCode != 200 || d.Primary != "bedrock_haiku" || d.Reason == "" {
		t.Errorf("route = %d %s; want bedrock_haiku with a reason", resp.StatusCode, b)
	}
}

// TestRunbookBreaker is the runbook's week-7 check: five recorded Sonnet
// failures open its breaker, "Hello" is then answered by bedrock_haiku
// without Sonnet being called, and once Sonnet recovers the breaker
// half-opens after its cool-down and closes again.
func TestRunbookBreaker(t *testing.T) {
	var failing atomic.Bool
	var sonnetCalls atomic.Int32
	failing.Store(true)
	sonnet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sonnetCalls.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"message":"overloaded","type":"server_error"}}`)
			return
		}
		writeJSON(w, 200, map[string]any{"id": "x", "object": "chat.completion", "model": "sonnet",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "Hello from Sonnet"}}},
			"usage":   map[string]any{"prompt_tokens": 3, "completion_tokens": 3}})
	}))
	defer sonnet.Close()
	base := gateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: openai, base_url: %q}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self, fallbacks: {bedrock_sonnet: [bedrock_haiku]}}
retries: {max_attempts: 1}
breakers:
  bedrock_sonnet: {failures: 5, cooldown: 300ms}
`, sonnet.URL+"/v1"))

	for i := range 5 {
		a := query(t, base, `{"query": "Explain the implications of quantum computing on cryptography", "cache": false}`)
		if a.Model != "bedrock_haiku" || !a.FallbackUsed {
			t.Fatalf("failure %d: answered by %s (fallback %v); want bedrock_haiku by fallback", i+1, a.Model, a.FallbackUsed)
		}
	}
	if got := breakerState(t, base, "bedrock_sonnet"); got != "open" {
		t.Fatalf("after 5 failures the breaker is %q; want open", got)
	}
	calls := sonnetCalls.Load()
	a := query(t, base, `{"query": "Hello", "model": "bedrock_sonnet", "cache": false}`)
	if a.Model != "bedrock_haiku" || !a.FallbackUsed {
		t.Errorf(`"Hello" answered by %s (fallback %v); want bedrock_haiku`, a.Model, a.FallbackUsed)
	}
	if sonnetCalls.Load() != calls {
		t.Error("Sonnet was called while its breaker was open")
	}
	metrics := get(t, base+"/metrics")
	if !strings.Contains(metrics, `cato_breaker_state{model="bedrock_sonnet"} 2`) {
		t.Error("/metrics does not show bedrock_sonnet's breaker open (2)")
	}

	failing.Store(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		a := query(t, base, `{"query": "Hello", "model": "bedrock_sonnet", "cache": false}`)
		if a.Model == "bedrock_sonnet" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Sonnet did not answer again within 15s of recovering (cool-down 300ms)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := breakerState(t, base, "bedrock_sonnet"); got != "closed" {
		t.Errorf("after a successful probe the breaker is %q; want closed", got)
	}
	if !strings.Contains(get(t, base+"/metrics"), `cato_breaker_transitions_total{model="bedrock_sonnet",to="half_open"} 1`) {
		t.Error("/metrics does not count the half_open transition")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func breakerState(t *testing.T, base, model string) string {
	t.Helper()
	st := decode[struct {
		Breakers map[string]struct {
			State    string `json:"state"`
			Failures int    `json:"failures"`
		} `json:"breakers"`
	}](t, []byte(get(t, base+"/api/admin/cato/status")))
	return st.Breakers[model].State
}
