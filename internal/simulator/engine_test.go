package simulator

import (
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestAnswer(t *testing.T) {
	e := NewEngine("bedrock_haiku", Options{})
	user := func(s string) llm.Message { return llm.Message{Role: llm.RoleUser, Content: s} }
	tests := []struct {
		name   string
		msgs   []llm.Message
		prefix string
	}{
		{"addition", []llm.Message{user("What is 2+2?")}, "4 "},
		{"multiplication", []llm.Message{user("what is 6 * 7")}, "42 "},
		{"name remembered", []llm.Message{user("My name is Alice"), {Role: "assistant", Content: "Hi"}, user("What is my name?")}, "Your name is Alice."},
		{"name recalled from long-term memory", []llm.Message{{Role: "system", Content: "What you remember about this user:\n- The user's name is Alice."}, user("What is my name?")}, "Your name is Alice, as I remember from an earlier conversation."},
		{"name unknown", []llm.Message{user("What is my name?")}, "I do not know your name"},
		{"other", []llm.Message{user("Explain tides")}, "This is a simulated answer from bedrock_haiku"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.Answer(&llm.Request{Messages: tt.msgs})
			if got := r.Text(); !strings.HasPrefix(got, tt.prefix) || !strings.Contains(got, "simulated") {
				t.Errorf("Answer = %q; want prefix %q and the word simulated", got, tt.prefix)
			}
			if r.Usage.CompletionTokens != len(r.Tokens) || r.Usage.PromptTokens == 0 {
				t.Errorf("usage = %+v for %d tokens", r.Usage, len(r.Tokens))
			}
		})
	}
	a := e.Answer(&llm.Request{Messages: []llm.Message{user("Explain tides")}})
	b := e.Answer(&llm.Request{Messages: []llm.Message{user("Explain tides")}})
	if a.Text() != b.Text() {
		t.Error("the same request gave two different answers; want determinism")
	}
	if got := e.Answer(&llm.Request{Messages: []llm.Message{user("Explain tides")}, MaxTokens: 3}); len(got.Tokens) != 3 {
		t.Errorf("max_tokens 3 gave %d tokens", len(got.Tokens))
	}
}

func TestFault(t *testing.T) {
	tests := []struct {
		cfg  Options
		want Fault
	}{
		{Options{}, NoFault},
		{Options{ErrorRate: 1}, ErrorFault},
		{Options{ResetRate: 1}, ResetFault},
		{Options{StallRate: 1}, StallFault},
	}
	for _, tt := range tests {
		e := NewEngine("m", tt.cfg)
		for range 100 {
			if got := e.Fault(); got != tt.want {
				t.Fatalf("Fault with %+v = %v; want %v", tt.cfg, got, tt.want)
			}
		}
	}
}

func TestHiddenStates(t *testing.T) {
	e := NewEngine("shadow_self", Options{HiddenDim: 8})
	req := &llm.Request{Messages: []llm.Message{{Role: "user", Content: "x"}}}
	h := e.HiddenStates(req)
	if h.Dim != 8 || len(h.Values) != 8 {
		t.Fatalf("dim = %d, %d values; want 8", h.Dim, len(h.Values))
	}
	var norm float32
	for _, v := range h.Values {
		norm += v * v
	}
	if norm < 0.99 || norm > 1.01 {
		t.Errorf("squared norm = %v; want a unit vector", norm)
	}
}

func TestAnswerTokens(t *testing.T) {
	e := NewEngine("m", Options{AnswerTokens: 200})
	r := e.Answer(&llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}})
	if len(r.Tokens) != 200 || r.Usage.CompletionTokens != 200 {
		t.Errorf("answer has %d tokens (usage %d); want 200", len(r.Tokens), r.Usage.CompletionTokens)
	}
	if r := e.Answer(&llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: 50}); len(r.Tokens) != 50 {
		t.Errorf("max_tokens 50 gave %d tokens", len(r.Tokens))
	}
}
