package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/rollout"
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
		opts.Summarizer = session.ModelSummarizer{Chat: summary.Chat, Model: cfg.Session.SummaryModel}
	}
	mem, err := session.NewMemory(backend.Sessions(session.StoreOptions{TTL: cfg.Session.TTL}), opts)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, mem.Close)
	return mem, nil
}

// dualWriter returns the hook that saves turns the legacy side answered to
// working memory, so that users moved to the new side keep their context.
func dualWriter(mem *session.Memory, legacyModel string, log func(msg string, args ...any)) func(context.Context, rollout.Exchange) {
	return func(ctx context.Context, ex rollout.Exchange) {
		if ex.Session == "" {
			return
		}
		req, err := openai.DecodeChatRequest(ex.Request)
		if err != nil {
			return // the legacy side accepted what Cato would refuse; nothing to record
		}
		err = mem.Record(ctx, session.Key{Tenant: ex.Tenant, ID: ex.Session}, session.Exchange{
			Question: req.LastUserText(), Answer: ex.ResponseText, Model: legacyModel,
		})
		if err != nil {
			log("dual-write of a legacy turn failed", "session_id", ex.Session, "err", err)
		}
	}
}
