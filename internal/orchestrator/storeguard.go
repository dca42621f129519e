package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
)

// errStoreDown is returned, without calling the store, while a storeGuard
// waits before trying a store that failed again.
var errStoreDown = errors.New("store is down; not calling it until it is tried again")

// defaultStoreRetryAfter is Options.StoreRetryAfter's default: as the
// session store's guard, a second is long enough that a hung store costs
// one request in a second its timeout, and short enough that a store that
// is back is used again at once.
const defaultStoreRetryAfter = time.Second

// storeGuard makes one store call of the request path (a cache write, a
// recall from long-term memory) fail fast once its store has failed: each
// call has a timeout; after a failure calls fail at once with errStoreDown
// for the retry interval, then one call at a time probes the store until
// one succeeds. It is a circuit breaker that opens on one failure, as the
// session store's guard is, so that a store that hangs (a Redis stopped,
// not killed) costs one request per interval its timeout rather than
// every request. The caller's own cancellation counts for nothing. It is
// safe for concurrent use.
type storeGuard struct {
	name    string
	timeout time.Duration
	breaker *breaker.Breaker
	log     *slog.Logger
}

// newStoreGuard returns the guard of the store named name (cache_store,
// memory_store): calls time out after timeout and, after a failure, are
// refused for retryAfter. It logs the store going down and coming back,
// once each.
func newStoreGuard(name string, timeout, retryAfter time.Duration, now func() time.Time, log *slog.Logger) *storeGuard {
	g := &storeGuard{name: name, timeout: timeout, log: log}
	g.breaker = breaker.New(name, breaker.Config{Failures: 1, FailureRate: -1, Cooldown: retryAfter, HalfOpenProbes: 1},
		breaker.Options{Now: now, OnStateChange: g.changed})
	return g
}

// changed logs the store going down and coming back. The store's name is
// part of the message, so that the rate-limited log, which counts records
// by message, never holds one store's line back for another's.
func (g *storeGuard) changed(t breaker.Transition) {
	switch {
	case t.From == breaker.Closed && t.To == breaker.Open:
		g.log.Warn(g.name+" failed; the request path goes on without it until it answers again", slog.String("store", g.name))
	case t.To == breaker.Closed:
		g.log.Info(g.name+" is back", slog.String("store", g.name))
	}
}

// call runs f with the guard's timeout, or returns errStoreDown at once
// while the store is taken for down.
func (g *storeGuard) call(ctx context.Context, f func(ctx context.Context) error) error {
	done, err := g.breaker.Allow()
	if err != nil {
		return fmt.Errorf("%s: %w", g.name, errStoreDown)
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	err = f(cctx)
	switch {
	case err == nil:
		done(breaker.Success)
	case ctx.Err() != nil:
		// The caller gave up: that says nothing about the store.
		done(breaker.Ignored)
	default:
		done(breaker.Failure)
	}
	return err
}
