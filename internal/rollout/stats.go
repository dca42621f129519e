package rollout

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is how one request went on the side that served it.
type Outcome struct {
	Side    Side
	Latency time.Duration
	// Status is the HTTP status answered (0 when unknown).
	Status int
	// Err is the error that ended the request, if any.
	Err error
}

// Failed reports whether the outcome counts against its side: an error or
// a 5xx status. A client that went away (context.Canceled) or a request the
// client got wrong (4xx) is not the side's failure.
func (o Outcome) Failed() bool {
	if o.Err != nil {
		return !errors.Is(o.Err, context.Canceled)
	}
	return o.Status >= http.StatusInternalServerError
}

// canceled reports whether the client gave up, so the latency says nothing.
func (o Outcome) canceled() bool {
	return errors.Is(o.Err, context.Canceled) || o.Status == 499
}

// StatsOptions tunes Stats. The zero value is valid.
type StatsOptions struct {
	// Window is the sliding window of the per-side figures
	// (config.Rollout.AutoRollback.Window). Zero means 60s.
	Window time.Duration
	// SlowAfter is the latency counted as slow, exactly, for Guard's p99
	// rule (config.Rollout.AutoRollback.P99). Zero means 2s.
	SlowAfter time.Duration
	// Now is the clock of the window. Nil means time.Now.
	Now   func() time.Time
	clock clock // nil means Now; this package's tests set it
}

// Stats counts requests per side: totals since start, and error rate and
// latency over a sliding window. Guard reads the new side's window. Stats
// is safe for concurrent use; Observe takes one short lock.
type Stats struct {
	clock    clock
	requests [2]atomic.Uint64
	failures [2]atomic.Uint64

	mu    sync.Mutex // guards sides
	sides [2]*window
}

// NewStats returns empty Stats.
func NewStats(opts StatsOptions) *Stats {
	if opts.Window <= 0 {
		opts.Window = 60 * time.Second
	}
	if opts.SlowAfter <= 0 {
		opts.SlowAfter = 2 * time.Second
	}
	if opts.clock == nil {
		opts.clock = clockOf(opts.Now)
	}
	s := &Stats{clock: opts.clock}
	for i := range s.sides {
		s.sides[i] = newWindow(opts.Window, opts.SlowAfter)
	}
	return s
}

// Observe records one request's outcome. api calls it once per request,
// after the answer is written.
func (s *Stats) Observe(o Outcome) {
	side := o.Side & 1
	s.requests[side].Add(1)
	failed := o.Failed()
	if failed {
		s.failures[side].Add(1)
	}
	if o.canceled() {
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	s.sides[side].add(now, o.Latency, failed)
	s.mu.Unlock()
}

func (s *Stats) window(side Side) windowTotals {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sides[side&1].totals(now)
}

func (s *Stats) resetWindow(side Side) {
	s.mu.Lock()
	s.sides[side&1].reset()
	s.mu.Unlock()
}

// SideStats are one side's figures.
type SideStats struct {
	// Requests and Errors count since start.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// WindowRequests, ErrorRate, P50Ms and P99Ms cover the sliding window.
	WindowRequests uint64  `json:"window_requests"`
	ErrorRate      float64 `json:"error_rate"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
}

// Sides returns both sides' figures.
func (s *Stats) Sides() map[string]SideStats {
	out := make(map[string]SideStats, 2)
	for _, side := range []Side{SideLegacy, SideNew} {
		w := s.window(side)
		st := SideStats{
			Requests:       s.requests[side].Load(),
			Errors:         s.failures[side].Load(),
			WindowRequests: w.requests,
			P50Ms:          ms(w.p50),
			P99Ms:          ms(w.p99),
		}
		if w.requests > 0 {
			st.ErrorRate = float64(w.failures) / float64(w.requests)
		}
		out[side.String()] = st
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
