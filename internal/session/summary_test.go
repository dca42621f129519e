package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
)

func TestModelSummarizer(t *testing.T) {
	turns := []session.Turn{{Role: llm.RoleUser, Content: "I am Ana."}, {Role: llm.RoleAssistant, Content: "Hello Ana."}}
	system := llm.Message{Role: llm.RoleSystem, Content: "Update the summary of this conversation. Keep names, facts, preferences and open questions. At most 200 words."}
	tests := []struct {
		name     string
		prev     string
		wantUser string
	}{
		{"first fold", "", "user: I am Ana.\nassistant: Hello Ana.\n"},
		{"later fold", "Ana likes tea.", "Summary so far:\nAna likes tea.\n\nuser: I am Ana.\nassistant: Hello Ana.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *llm.Request
			s := session.ModelSummarizer{Model: "bedrock_haiku", Chat: func(_ context.Context, req *llm.Request) (*llm.Response, error) {
				got = req
				return &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "Ana, who likes tea."}}, nil
			}}
			summary, err := s.Summarize(context.Background(), tt.prev, turns)
			if err != nil || summary != "Ana, who likes tea." {
				t.Fatalf("Summarize() = %q, %v; want the model's answer", summary, err)
			}
			want := &llm.Request{Model: "bedrock_haiku", MaxTokens: 400, Messages: []llm.Message{system, {Role: llm.RoleUser, Content: tt.wantUser}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModelSummarizerFails(t *testing.T) {
	down := errors.New("throttled")
	s := session.ModelSummarizer{Model: "m", Chat: func(context.Context, *llm.Request) (*llm.Response, error) { return nil, down }}
	if _, err := s.Summarize(context.Background(), "", []session.Turn{{Role: llm.RoleUser, Content: "q"}}); !errors.Is(err, down) {
		t.Errorf("Summarize() = %v; want the model's error", err)
	}
}
