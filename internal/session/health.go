package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrUnavailable wraps every error of a store that failed (timed out, lost
// its connection…), and is returned alone while Cato waits before trying a
// store that failed again. Callers go on without memory and report the
// response as degraded.
var ErrUnavailable = errors.New("session store unavailable")

// guarded wraps a Store so that a store that is down fails fast: each call
// has a timeout, and after a failure calls fail at once with ErrUnavailable
// for retryAfter, then one call at a time probes the store until one
// succeeds. Errors that say something about the session (ErrNotFound,
// ErrConflict, ErrInvalidKey) and the caller's own cancellation do not
// count as failures. It is safe for concurrent use.
type guarded struct {
	store      Store
	timeout    time.Duration
	retryAfter time.Duration
	now        func() time.Time
	log        *slog.Logger
	observe    func(StoreCall)

	mu       sync.Mutex // guards down, failedAt and probing
	down     bool
	failedAt time.Time
	probing  bool
}

var _ Store = (*guarded)(nil)

func (g *guarded) healthy() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.down
}

// begin admits a call, or refuses it with ErrUnavailable. probe says the
// call is the one allowed through while the store is down.
func (g *guarded) begin() (probe bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.down {
		return false, nil
	}
	if g.probing || g.now().Sub(g.failedAt) < g.retryAfter {
		return false, ErrUnavailable
	}
	g.probing = true
	return true, nil
}

// end records the outcome of a call that begin admitted.
func (g *guarded) end(ctx context.Context, probe bool, err error) error {
	answered := err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidKey)
	// When the caller gave up, the call says nothing about the store.
	failed := !answered && ctx.Err() == nil
	g.mu.Lock()
	if probe {
		g.probing = false
	}
	wasDown := g.down
	if failed {
		g.down, g.failedAt = true, g.now()
	} else if answered {
		g.down = false
	}
	isDown := g.down
	g.mu.Unlock()
	switch {
	case failed && !wasDown:
		g.log.Warn("session store failed; going on without working memory", slog.Any("err", err))
	case wasDown && !isDown:
		g.log.Info("session store is back")
	}
	if failed {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
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
	probe, err := g.begin()
	if err != nil {
		g.observe(StoreCall{Op: op, Err: err})
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	start := time.Now()
	err = f(cctx)
	d := time.Since(start)
	err = g.end(ctx, probe, err)
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
