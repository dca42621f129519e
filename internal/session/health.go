package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
)

// ErrUnavailable wraps every error of a store that failed (timed out, lost
// its connection…), and is returned alone while Cato waits before trying a
// store that failed again. Callers go on without memory and report the
// response as degraded.
var ErrUnavailable = errors.New("session store unavailable")

// guarded wraps a Store so that a store that is down fails fast: each call
// has a timeout, and after a failure calls fail at once with ErrUnavailable
// for retryAfter, then one call at a time probes the store until one
// succeeds. That is a circuit breaker that opens on one failure, with
// retryAfter as its cool-down and one half-open probe. Errors that say
// something about the session (ErrNotFound, ErrConflict, ErrInvalidKey)
// count as answers, and the caller's own cancellation counts for nothing.
// It is safe for concurrent use.
type guarded struct {
	store   Store
	timeout time.Duration
	breaker *breaker.Breaker
	log     *slog.Logger
	observe func(StoreCall)
	lastErr atomic.Pointer[error] // the last failure, for the log of the store going down
}

var _ Store = (*guarded)(nil)

// newGuarded returns store guarded with o's Timeout, RetryAfter, Now, Log
// and Observe.
func newGuarded(store Store, o MemoryOptions) *guarded {
	g := &guarded{store: store, timeout: o.Timeout, log: o.Log, observe: o.Observe}
	g.breaker = breaker.New("session_store", breaker.Config{Failures: 1, FailureRate: -1, Cooldown: o.RetryAfter, HalfOpenProbes: 1},
		breaker.Options{Now: o.Now, OnStateChange: g.changed})
	return g
}

// changed logs the store going down and coming back.
func (g *guarded) changed(t breaker.Transition) {
	switch {
	case t.From == breaker.Closed && t.To == breaker.Open:
		var err error
		if p := g.lastErr.Load(); p != nil {
			err = *p
		}
		g.log.Warn("session store failed; going on without working memory", slog.Any("err", err))
	case t.To == breaker.Closed:
		g.log.Info("session store is back")
	}
}

func (g *guarded) healthy() bool { return g.breaker.State() == breaker.Closed }

// outcome is what a call's error tells the breaker about the store.
func outcome(ctx context.Context, err error) breaker.Outcome {
	switch {
	case err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidKey):
		return breaker.Success
	case ctx.Err() != nil:
		// When the caller gave up, the call says nothing about the store.
		return breaker.Ignored
	}
	return breaker.Failure
}

// StoreCall describes one session store call, for metrics. Fields may be
// added.
type StoreCall struct {
	// Op is load, append, fold or delete.
	Op       string
	Duration time.Duration
	// Err is the call's error, nil on success. ErrNotFound and ErrConflict
	// are answers, not failures; a call refused while the store is down
	// has Err ErrUnavailable and Duration 0.
	Err error
}

// call runs f under the guard with the call timeout.
func (g *guarded) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	done, err := g.breaker.Allow()
	if err != nil {
		g.observe(StoreCall{Op: op, Err: ErrUnavailable})
		return ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	start := time.Now()
	err = f(cctx)
	d := time.Since(start)
	o := outcome(ctx, err)
	if o == breaker.Failure {
		cause := err
		g.lastErr.Store(&cause)
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	done(o)
	g.observe(StoreCall{Op: op, Duration: d, Err: err})
	return err
}

func (g *guarded) Load(ctx context.Context, k Key) (*Session, error) {
	var s *Session
	err := g.call(ctx, "load", func(ctx context.Context) error {
		var err error
		s, err = g.store.Load(ctx, k)
		return err
	})
	return s, err
}

func (g *guarded) Append(ctx context.Context, k Key, turns ...Turn) error {
	return g.call(ctx, "append", func(ctx context.Context) error { return g.store.Append(ctx, k, turns...) })
}

func (g *guarded) Fold(ctx context.Context, k Key, f Fold) error {
	return g.call(ctx, "fold", func(ctx context.Context) error { return g.store.Fold(ctx, k, f) })
}

func (g *guarded) Delete(ctx context.Context, k Key) error {
	return g.call(ctx, "delete", func(ctx context.Context) error { return g.store.Delete(ctx, k) })
}
