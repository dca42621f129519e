package session

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// enqueue schedules a fold check of k unless one is pending. When the queue
// is full the check is dropped: the session's next turn schedules it again.
func (m *Memory) enqueue(k Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.queued[k] {
		return
	}
	select {
	case m.queue <- k:
		m.queued[k] = true
	default:
	}
}

// run is the worker: it folds queued sessions one at a time, and sweeps
// expired sessions when the store needs it, until ctx is done.
func (m *Memory) run(ctx context.Context) {
	defer close(m.done)
	var sweep <-chan time.Time
	if _, ok := m.raw.(Sweeper); ok {
		t := time.NewTicker(m.opts.SweepEvery)
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case k := <-m.queue:
			m.mu.Lock()
			delete(m.queued, k)
			m.mu.Unlock()
			if err := m.foldSession(ctx, k); err != nil && ctx.Err() == nil {
				m.opts.Log.Warn("folding session", slog.String("session_id", k.ID), slog.String("tenant", k.Tenant), slog.Any("err", err))
			}
		case <-sweep:
			m.sweep(ctx)
		}
	}
}

func (m *Memory) sweep(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, err := m.raw.(Sweeper).Sweep(ctx)
	if err != nil {
		m.opts.Log.Warn("deleting expired sessions", slog.Any("err", err))
		return
	}
	if n > 0 {
		m.opts.Log.Debug("deleted expired sessions", slog.Int("sessions", n))
	}
}

// foldSession folds the old turns of k into its summary if they outgrew the
// budget. A turn appended meanwhile is kept: Fold removes only the turns
// summarised, and fails with ErrConflict (ignored) if another replica
// folded first.
func (m *Memory) foldSession(ctx context.Context, k Key) error {
	s, err := m.store.Load(ctx, k)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n := foldCount(s, m.opts.ContextTokens, m.tok)
	if n == 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, m.opts.SummarizeTimeout)
	summary, err := m.opts.Summarizer.Summarize(sctx, s.Summary, s.Turns[:n])
	cancel()
	if err != nil {
		return err
	}
	err = m.store.Fold(ctx, k, Fold{From: s.SummaryThrough, Through: s.Turns[n-1].Seq, Summary: summary})
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// foldCount returns how many of the oldest turns of s to fold: none while
// the summary and the turns fit in budget; otherwise all but the newest
// turns that fit in half the budget, so that folding happens once every
// few turns rather than after each. The turns kept start with a user turn:
// the question of a kept answer is kept too if the budget allows, else the
// answer is folded.
func foldCount(s *Session, budget int, tok *Tokenizer) int {
	cost := func(t Turn) int {
		if t.Tokens > 0 {
			return t.Tokens + messageOverhead
		}
		return tok.Count(t.Content) + messageOverhead
	}
	total := tok.Count(s.Summary)
	for _, t := range s.Turns {
		total += cost(t)
	}
	if total <= budget {
		return 0
	}
	keep, kept := len(s.Turns), 0
	for keep > 0 && kept+cost(s.Turns[keep-1]) <= budget/2 {
		kept += cost(s.Turns[keep-1])
		keep--
	}
	if keep > 0 && keep < len(s.Turns) && s.Turns[keep].Role != llm.RoleUser &&
		s.Turns[keep-1].Role == llm.RoleUser && kept+cost(s.Turns[keep-1]) <= budget {
		keep-- // keep the question with its answer, if the whole budget allows
	}
	for keep < len(s.Turns) && s.Turns[keep].Role != llm.RoleUser {
		keep++
	}
	return keep
}
