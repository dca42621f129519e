package rollout

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
)

// GuardOptions wires a Guard. Store, Decider and Stats are required; the
// window and the p99 limit are those Stats was made with.
type GuardOptions struct {
	// Enabled turns automatic rollback on. Default false: Run and Check
	// do nothing.
	Enabled bool
	// ErrorRate is the new side's error rate over the window above which
	// the Guard rolls back. Zero means DefaultErrorRate.
	ErrorRate float64
	// MinRequests is how many requests the window must hold before either
	// rule may trip. Zero means DefaultMinRequests.
	MinRequests int
	Store       FlagStore
	Decider     *Decider
	Stats       *Stats
	// Satisfaction, if set, also rolls back when users rate the new side
	// worse than the legacy side (satisfaction.go). Nil: off.
	Satisfaction *SatisfactionRule
	// Actor names this replica in the change it writes. Default "cato".
	Actor string
	Log   *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Defaults of GuardOptions.
const (
	DefaultErrorRate   = 0.01
	DefaultMinRequests = 100
)

// Guard rolls the migration back by itself: when, over Stats' sliding
// window, the new side's error rate exceeds ErrorRate or its p99 latency
// exceeds Stats' SlowAfter (with at least MinRequests requests), or when
// the Satisfaction rule finds users of the new side less satisfied, it
// sets the flag to 0 with source auto_rollback and the reason, logs and
// counts it. The flag stays at 0 until an operator raises it; the new side's
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
	// Satisfaction holds both sides' ratings when satisfaction tripped it.
	Satisfaction map[string]feedback.Satisfaction `json:"satisfaction,omitempty"`
}

// NewGuard returns a Guard.
func NewGuard(opts GuardOptions) *Guard {
	if opts.Actor == "" {
		opts.Actor = "cato"
	}
	if opts.ErrorRate <= 0 {
		opts.ErrorRate = DefaultErrorRate
	}
	if opts.MinRequests <= 0 {
		opts.MinRequests = DefaultMinRequests
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Guard{opts: opts}
}

// checkEvery is how often Run checks: often enough that a bad rollout is
// rolled back within seconds, rarely enough to cost nothing.
const checkEvery = time.Second

// Run checks the guardrails every second until ctx is done, and returns nil
// then. It does nothing when automatic rollback is disabled.
func (g *Guard) Run(ctx context.Context) error {
	if !g.opts.Enabled {
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
	if !g.opts.Enabled {
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
	var (
		reason string
		rate   float64
		sat    map[string]feedback.Satisfaction
	)
	if w.requests > 0 && w.requests >= uint64(g.opts.MinRequests) {
		rate = float64(w.failures) / float64(w.requests)
		// p99 exceeds the limit exactly when more than 1% of requests do.
		slowShare := float64(w.slow) / float64(w.requests)
		switch {
		case rate > g.opts.ErrorRate:
			reason = fmt.Sprintf("new side error rate %.2f%% above %.2f%% over %d requests in %v",
				100*rate, 100*g.opts.ErrorRate, w.requests, g.opts.Stats.span)
		case slowShare > 0.01:
			reason = fmt.Sprintf("new side p99 above %v (%.2f%% of %d requests slower) in %v",
				g.opts.Stats.slowAfter, 100*slowShare, w.requests, g.opts.Stats.span)
		}
	}
	if reason == "" {
		reason, sat = g.judgeSatisfaction(cur)
	}
	if reason == "" {
		return Flag{}, cur, false
	}
	trip := &Trip{At: g.opts.Now(), Reason: reason, Requests: w.requests, ErrorRate: rate, P99Ms: ms(w.p99), Satisfaction: sat}
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
	return GuardStats{Enabled: g.opts.Enabled, Trips: g.trips, LastTrip: g.lastTrip}
}
