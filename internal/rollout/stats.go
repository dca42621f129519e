package rollout

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/window"
)

// Outcome is how one request went on the side that served it.
type Outcome struct {
	Side    Side
	Latency time.Duration
	// Status is the HTTP status answered (0 when unknown).
	Status int
	// Err is the error that ended the request, if any.
	Err error
	// Cached reports that Cato's semantic cache answered (new side only).
	Cached bool
	// CostUSD is what the answer cost in US dollars; it counts only when
	// CostKnown. The new side knows it from its models' prices; the legacy
	// side when its answer carried usage and the legacy model is priced.
	CostUSD   float64
	CostKnown bool
}

// Failed reports whether the outcome counts against its side: an error or
// a 5xx status. A client that went away (context.Canceled) or a request the
// client got wrong (4xx, whatever error came with it) is not the side's
// failure; an error after a 2xx status began (a stream broken off) is.
func (o Outcome) Failed() bool {
	if o.Status >= 400 && o.Status < 500 {
		return false
	}
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
	// Window is the sliding window of the per-side figures, which Guard
	// judges. Zero means DefaultWindow.
	Window time.Duration
	// SlowAfter is the latency counted as slow, exactly: Guard trips when
	// more than 1% of the window's requests are slower (its p99 rule).
	// Zero means DefaultSlowAfter.
	SlowAfter time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Defaults of StatsOptions.
const (
	DefaultWindow    = 60 * time.Second
	DefaultSlowAfter = 2 * time.Second
)

// Stats counts requests per side: totals since start, and error rate and
// latency over a sliding window. Guard reads the new side's window. Stats
// is safe for concurrent use; Observe takes one short lock.
type Stats struct {
	now       func() time.Time
	span      time.Duration // the window, for Guard's reasons
	slowAfter time.Duration // SlowAfter, for Guard's reasons and the count of slow requests
	requests  [2]atomic.Uint64
	failures  [2]atomic.Uint64
	cacheHits [2]atomic.Uint64
	// costNano sums known costs in billionths of a dollar, so that an
	// atomic integer holds them; costUnknown counts answers without one.
	costNano    [2]atomic.Uint64
	costUnknown [2]atomic.Uint64

	mu    sync.Mutex // guards sides
	sides [2]*window.Window[slot]
}

// NewStats returns empty Stats.
func NewStats(opts StatsOptions) *Stats {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.SlowAfter <= 0 {
		opts.SlowAfter = DefaultSlowAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Stats{now: opts.Now, span: opts.Window, slowAfter: opts.SlowAfter}
	t := s.now()
	for i := range s.sides {
		s.sides[i] = window.New[slot](t, opts.Window, windowSlots)
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
	if o.Cached {
		s.cacheHits[side].Add(1)
	}
	if o.CostKnown && o.CostUSD >= 0 {
		s.costNano[side].Add(uint64(math.Round(o.CostUSD * 1e9)))
	} else {
		s.costUnknown[side].Add(1)
	}
	if o.canceled() {
		return
	}
	now := s.now()
	s.mu.Lock()
	s.sides[side].At(now).add(o.Latency, failed, s.slowAfter)
	s.mu.Unlock()
}

func (s *Stats) window(side Side) windowTotals {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return totals(s.sides[side&1], now)
}

func (s *Stats) resetWindow(side Side) {
	s.mu.Lock()
	s.sides[side&1].Reset()
	s.mu.Unlock()
}

// SideStats are one side's figures.
type SideStats struct {
	// Requests and Errors count since start.
	Requests uint64 `json:"requests"`
	Errors   uint64 `json:"errors"`
	// CacheHits counts requests answered from Cato's cache since start
	// (always 0 on the legacy side, whose cache Cato does not see), and
	// CacheHitRate is their share of Requests.
	CacheHits    uint64  `json:"cache_hits"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	// CostUSD sums the known cost of the side's answers since start, in US
	// dollars; CostUnknown counts the requests whose cost is not known
	// (a legacy model with no price, an answer without usage, a failure
	// before any answer). A side whose every request is unknown has no
	// known cost at all.
	CostUSD     float64 `json:"cost_usd"`
	CostUnknown uint64  `json:"cost_unknown"`
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
			CacheHits:      s.cacheHits[side].Load(),
			CostUSD:        float64(s.costNano[side].Load()) / 1e9,
			CostUnknown:    s.costUnknown[side].Load(),
			WindowRequests: w.requests,
			P50Ms:          ms(w.p50),
			P99Ms:          ms(w.p99),
		}
		if st.Requests > 0 {
			st.CacheHitRate = float64(st.CacheHits) / float64(st.Requests)
		}
		if w.requests > 0 {
			st.ErrorRate = float64(w.failures) / float64(w.requests)
		}
		out[side.String()] = st
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
