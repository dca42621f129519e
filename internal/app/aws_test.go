package app

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/simulator"
)

// TestAWSProvidersAgainstSimulator runs the quickstart with the tiers on
// Bedrock (Converse and InvokeModel) and SageMaker, pointed at the
// simulator's AWS wires: answers, streams, hidden states and cost.
func TestAWSProvidersAgainstSimulator(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	sim := httptest.NewServer(simulator.NewServer(simulator.Options{HiddenDim: 16}, nil, slog.New(slog.DiscardHandler)))
	defer sim.Close()
	base := gateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: bedrock, model_id: anthropic.claude-3-5-haiku-20241022-v1:0, endpoint: %[1]q}
  bedrock_sonnet: {provider: bedrock, model_id: anthropic.claude-3-5-sonnet-20241022-v2:0, api: invoke, endpoint: %[1]q}
  shadow_self: {provider: sagemaker, endpoint_name: cato-shadow-self-staging, endpoint: %[1]q}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
cache: {enabled: false}
`, sim.URL))

	a := query(t, base, `{"query": "What is 2+2?"}`)
	if a.Model != "bedrock_haiku" || !strings.HasPrefix(a.Response, "4") || a.CostUSD <= 0 {
		t.Errorf("Converse: %s answered %q at cost %v; want bedrock_haiku answering 4 with a cost", a.Model, a.Response, a.CostUSD)
	}
	h := query(t, base, `{"query": "Summarise this", "return_hidden_states": true}`)
	if h.Model != "shadow_self" || h.HiddenStates == nil || h.HiddenStates.Dim != 16 {
		t.Errorf("SageMaker hidden states: model %s, %+v; want 16 values from shadow_self", h.Model, h.HiddenStates)
	}
	for _, model := range []string{"bedrock_haiku", "bedrock_sonnet", "shadow_self"} {
		resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
			`{"model":"`+model+`","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Explain tides"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		if resp.StatusCode != 200 || strings.Count(body, "data: ") < 4 || !strings.HasSuffix(body, "data: [DONE]\n\n") || !strings.Contains(body, `"completion_tokens":`) {
			t.Errorf("%s stream: status %d:\n%s", model, resp.StatusCode, body)
		}
	}
	st := get(t, base+"/api/admin/cato/status")
	if !strings.Contains(st, `"bedrock_sonnet":{"requests":1`) {
		t.Errorf("/status does not count the InvokeModel stream: %s", st)
	}
}
