package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/store"
)

// newMemory builds working memory over the backend's session store, with
// the summary model folding old turns.
func (a *App) newMemory(cfg *config.Config, backend *store.Backend, summary provider.Provider) (*session.Memory, error) {
	tok, err := session.NewTokenizer()
	if err != nil {
		return nil, fmt.Errorf("session tokenizer: %w", err)
	}
	opts := session.MemoryOptions{
		ContextTokens: cfg.Session.ContextTokens,
		Tokenizer:     tok,
		Observe: func(c session.StoreCall) {
			outcome := "ok"
			if c.Err != nil && !errors.Is(c.Err, session.ErrNotFound) && !errors.Is(c.Err, session.ErrConflict) {
				outcome = "error"
			}
			a.metrics.StoreOps.WithLabelValues("sessions", c.Op, outcome).Inc()
			if c.Duration > 0 {
				a.metrics.StoreDuration.WithLabelValues("sessions", c.Op).Observe(c.Duration.Seconds())
			}
		},
		Log: a.log.With("component", "session"),
	}
	if summary != nil {
		opts.Summarizer = summarizer{p: summary, model: cfg.Session.SummaryModel}
	}
	mem, err := session.NewMemory(backend.Sessions(session.StoreOptions{TTL: cfg.Session.TTL}), opts)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, mem.Close)
	return mem, nil
}

// summarizer folds old turns into a session's running summary with the
// cheap model.
type summarizer struct {
	p     provider.Provider
	model string
}

func (s summarizer) Summarize(ctx context.Context, prev string, turns []session.Turn) (string, error) {
	var b strings.Builder
	if prev != "" {
		fmt.Fprintf(&b, "Summary so far:\n%s\n\n", prev)
	}
	for _, t := range turns {
		fmt.Fprintf(&b, "%s: %s\n", t.Role, t.Content)
	}
	r, err := s.p.Chat(ctx, &llm.Request{Model: s.model, MaxTokens: 400, Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: "Update the summary of this conversation. Keep names, facts, preferences and open questions. At most 200 words."},
		{Role: llm.RoleUser, Content: b.String()},
	}})
	if err != nil {
		return "", err
	}
	return r.Message.Content, nil
}
