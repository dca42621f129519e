package session

import (
	"context"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// summaryPrompt is the instruction of every fold.
const summaryPrompt = "Update the summary of this conversation. Keep names, facts, preferences and open questions. At most 200 words."

// summaryMaxTokens bounds a summary's answer: 200 words with room to spare.
const summaryMaxTokens = 400

// ModelSummarizer is a Summarizer that asks a chat model (config
// session.summary_model, a cheap one) to update the summary with the turns
// being folded. It is safe for concurrent use if Chat is.
type ModelSummarizer struct {
	// Chat calls the model: the Chat method of its provider, usually its
	// guard.
	Chat func(ctx context.Context, req *llm.Request) (*llm.Response, error)
	// Model is the model's configured name, set on each request.
	Model string
}

// Summarize implements Summarizer.
func (s ModelSummarizer) Summarize(ctx context.Context, prev string, turns []Turn) (string, error) {
	var b strings.Builder
	if prev != "" {
		fmt.Fprintf(&b, "Summary so far:\n%s\n\n", prev)
	}
	for _, t := range turns {
		fmt.Fprintf(&b, "%s: %s\n", t.Role, t.Content)
	}
	r, err := s.Chat(ctx, &llm.Request{Model: s.Model, MaxTokens: summaryMaxTokens, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: summaryPrompt},
		{Role: llm.RoleUser, Content: b.String()},
	}})
	if err != nil {
		return "", fmt.Errorf("summarizing with %s: %w", s.Model, err)
	}
	return r.Message.Content, nil
}
