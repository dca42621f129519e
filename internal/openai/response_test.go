package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
)

// TestUsageDetails: an upstream's cached and reasoning tokens reach
// llm.Usage from a whole answer and from a stream's usage chunk, and are
// written back in both APIs' usage objects; chat usage leaves out details
// that count nothing.
func TestUsageDetails(t *testing.T) {
	const usage = `{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"audio_tokens":0,"accepted_prediction_tokens":0}}`
	want := llm.Usage{PromptTokens: 19, CompletionTokens: 10, CachedTokens: 3, ReasoningTokens: 2}

	var answer ChatResponse
	if err := json.Unmarshal([]byte(`{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":`+usage+`}`), &answer); err != nil {
		t.Fatal(err)
	}
	resp, err := answer.ToResponse()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, resp.Usage); diff != "" {
		t.Errorf("ToResponse usage mismatch (-want +got):\n%s", diff)
	}
	var chunk ChatResponse
	if err := json.Unmarshal([]byte(`{"id":"x","choices":[],"usage":`+usage+`}`), &chunk); err != nil {
		t.Fatal(err)
	}
	if c := chunk.ToChunk(); c.Usage == nil || *c.Usage != want {
		t.Errorf("ToChunk usage = %+v; want %+v", c.Usage, want)
	}

	tests := []struct {
		name string
		v    any
		want string
	}{
		{"chat", UsageOf(want), `{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}`},
		{"chat without details", UsageOf(llm.Usage{PromptTokens: 1, CompletionTokens: 2}), `{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}`},
		{"responses", ResponseUsageOf(want), `{"input_tokens":19,"input_tokens_details":{"cached_tokens":3},"output_tokens":10,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":29}`},
		{"responses without details", ResponseUsageOf(llm.Usage{PromptTokens: 1, CompletionTokens: 2}), `{"input_tokens":1,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil || string(b) != tt.want {
				t.Errorf("json.Marshal = %s, %v; want %s", b, err, tt.want)
			}
		})
	}

	// An upstream that sends null details, or none, reports none.
	for _, u := range []string{`{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":null,"completion_tokens_details":null}`, `{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}`} {
		var w Usage
		if err := json.Unmarshal([]byte(u), &w); err != nil {
			t.Fatal(err)
		}
		if got := w.Tokens(); got != (llm.Usage{PromptTokens: 1, CompletionTokens: 2}) {
			t.Errorf("Tokens() of %s = %+v", u, got)
		}
	}
}
