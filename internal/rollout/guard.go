package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/config"
)

// GuardOptions wires a Guard. Store, Decider and Stats are required.
type GuardOptions struct {
	// Config holds the guardrails (config.Rollout.AutoRollback); Stats must
	// have been made with the same Window and P99 (as SlowAfter).
	Config  config.AutoRollback
	Store   FlagStore
	Decider *Decider
	Stats   *Stats
	// Actor names this replica in the change it writes. Default "cato".
	Actor string
	Log   *slog.Logger
	// Now is the clock of trips; give it the one Stats has. Nil means
	// time.Now.
	Now   func() time.Time
	clock clock // nil means Now; this package's tests set it
}

// Guard rolls the migration back by itself: when, over the sliding window,
// the new side's error rate exceeds Config.ErrorRate or its p99 latency
// exceeds Config.P99 (with at least Config.MinRequests requests), it sets
// the flag to 0 with source auto_rollback and the reason, logs and counts
// it. The flag stays at 0 until an operator raises it; the new side's
// window starts afresh then, so the samples that tripped it do not trip it
// again. A Guard is safe for concurrent use. Create it with NewGuard; app
// runs Run in its errgroup.
type Guard struct {
	opts GuardOptions

	mu       sync.Mutex // guards the fields below
	wasZero  bool       // the last Check saw 0%
	trips    uint64
	lastTrip *Trip
}

// Trip describes one automatic rollback.
type Trip struct {
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Requests uint64    `json:"requests"`
	// ErrorRate and P99Ms are the new side's figures that tripped it.
	ErrorRate float64 `json:"error_rate"`
	P99Ms     float64 `json:"p99_ms"`
}

// NewGuard returns a Guard.
func NewGuard(opts GuardOptions) *Guard {
	if opts.Actor == "" {
		opts.Actor = "cato"
	}
	if opts.clock == nil {
		opts.clock = clockOf(opts.Now)
	}
	return &Guard{opts: opts}
}

// checkEvery is how often Run checks: often enough that a bad rollout is
// rolled back within seconds, rarely enough to cost nothing.
const checkEvery = time.Second

// Run checks the guardrails every second until ctx is done, and returns nil
// then. It does nothing when automatic rollback is disabled.
func (g *Guard) Run(ctx context.Context) error {
	if !g.opts.Config.Enabled {
		return nil
	}
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := g.Check(ctx); err != nil && ctx.Err() == nil {
				g.opts.Log.Error("automatic rollback could not write the flag", slog.Any("err", err))
			}
		}
	}
}

// Check evaluates the guardrails once and rolls back when one is crossed.
// It reports whether it tripped. When the store cannot be written, this
// replica still goes to 0 and Check returns the error.
func (g *Guard) Check(ctx context.Context) (bool, error) {
	cfg := g.opts.Config
	if !cfg.Enabled {
		return false, nil
	}
	g.mu.Lock()
	f, cur, tripped := g.judgeLocked()
	g.mu.Unlock()
	if !tripped {
		return false, nil
	}
	// The store is written outside the lock, with a bound of its own, so
	// that a slow store holds up neither /status nor the next check.
	ctx, cancel := context.WithTimeout(ctx, storeWriteTimeout)
	defer cancel()
	stored, err := g.opts.Store.Set(ctx, f)
	if err != nil {
		f.Version = cur.Version // go to 0 here; the store's next change replaces it
		g.opts.Decider.Apply(f)
		return true, fmt.Errorf("writing automatic rollback: %w", err)
	}
	g.opts.Decider.Apply(stored)
	return true, nil
}

// storeWriteTimeout bounds the write of an automatic rollback.
const storeWriteTimeout = 5 * time.Second

// judgeLocked decides whether the new side's window trips the guardrails
// and, if so, records the trip and returns the flag to write. g.mu must be
// held.
func (g *Guard) judgeLocked() (f, cur Flag, tripped bool) {
	cfg := g.opts.Config
	cur = g.opts.Decider.Flag()
	if cur.Percentage == 0 {
		g.wasZero = true
		return Flag{}, cur, false
	}
	if g.wasZero {
		// Raised again by an operator: judge the new side afresh.
		g.wasZero = false
		g.opts.Stats.resetWindow(SideNew)
		return Flag{}, cur, false
	}
	w := g.opts.Stats.window(SideNew)
	if w.requests == 0 || w.requests < uint64(cfg.MinRequests) {
		return Flag{}, cur, false
	}
	rate := float64(w.failures) / float64(w.requests)
	// p99 exceeds the limit exactly when more than 1% of requests do.
	slowShare := float64(w.slow) / float64(w.requests)
	var reason string
	switch {
	case rate > cfg.ErrorRate:
		reason = fmt.Sprintf("new side error rate %.2f%% above %.2f%% over %d requests in %v",
			100*rate, 100*cfg.ErrorRate, w.requests, cfg.Window)
	case slowShare > 0.01:
		reason = fmt.Sprintf("new side p99 above %v (%.2f%% of %d requests slower) in %v",
			cfg.P99, 100*slowShare, w.requests, cfg.Window)
	default:
		return Flag{}, cur, false
	}
	trip := &Trip{At: g.opts.clock.Now(), Reason: reason, Requests: w.requests, ErrorRate: rate, P99Ms: ms(w.p99)}
	g.trips++
	g.lastTrip = trip
	g.wasZero = true
	g.opts.Stats.resetWindow(SideNew)
	g.opts.Log.Warn("automatic rollback: new side set to 0%",
		slog.String("reason", reason), slog.Float64("from_percentage", cur.Percentage),
		slog.Uint64("requests", w.requests), slog.Float64("error_rate", rate), slog.Float64("p99_ms", ms(w.p99)))

	return Flag{Percentage: 0, Source: SourceAutoRollback, Actor: g.opts.Actor, Reason: reason, At: trip.At}, cur, true
}

// GuardStats are the automatic rollback's figures for /status.
type GuardStats struct {
	Enabled  bool   `json:"enabled"`
	Trips    uint64 `json:"trips"`
	LastTrip *Trip  `json:"last_trip,omitempty"`
}

// Stats returns the Guard's figures.
func (g *Guard) Stats() GuardStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return GuardStats{Enabled: g.opts.Config.Enabled, Trips: g.trips, LastTrip: g.lastTrip}
}
