package app

import (
	"errors"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/store"
)

// newMemory builds working memory over the backend's session store, with
// the summary model folding old turns.
func (a *App) newMemory(cfg *config.Config, backend *store.Backend, summary provider.Provider, tok *session.Tokenizer) (*session.Memory, error) {
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
		Log: a.reqLog.With("component", "session"),
	}
	if summary != nil {
		opts.Summarizer = session.ModelSummarizer{Chat: summary.Chat, Model: cfg.Session.SummaryModel}
	}
	st := backend.Sessions(session.StoreOptions{TTL: cfg.Session.TTL})
	if a.tracing != nil {
		st = traceSessionStore(a.tracing, string(backend.Kind()), st)
	}
	mem, err := session.NewMemory(st, opts)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, mem.Close)
	return mem, nil
}
