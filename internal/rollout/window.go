package rollout

import (
	"math"
	"time"
)

// Latency bins grow by a quarter power of two (about 19%) from binBase, so
// 80 bins span 0.5ms to about 9 minutes and a percentile read from them is
// within 19% of the true value: enough for /status. Thresholds that decide
// things (Guard's p99) are counted exactly with slowAfter instead.
const (
	windowSlots = 60
	latencyBins = 80
	binBase     = 500 * time.Microsecond
)

// slot holds the outcomes of one slice of a window.
type slot struct {
	epoch     int64 // which slice of time this slot holds
	requests  uint64
	failures  uint64
	slow      uint64 // latency above the window's slowAfter
	latencies [latencyBins]uint32
}

// window is a sliding window of request outcomes, in windowSlots slices of
// span/windowSlots each. It is not safe for concurrent use; Stats guards
// it.
type window struct {
	width     time.Duration
	slowAfter time.Duration
	slots     [windowSlots]slot
}

func newWindow(span, slowAfter time.Duration) *window {
	width := span / windowSlots
	if width <= 0 {
		width = time.Millisecond
	}
	return &window{width: width, slowAfter: slowAfter}
}

func (w *window) epoch(now time.Time) int64 { return now.UnixNano() / int64(w.width) }

func (w *window) add(now time.Time, latency time.Duration, failed bool) {
	e := w.epoch(now)
	s := &w.slots[e%windowSlots]
	if s.epoch != e {
		*s = slot{epoch: e}
	}
	s.requests++
	if failed {
		s.failures++
	}
	if w.slowAfter > 0 && latency > w.slowAfter {
		s.slow++
	}
	s.latencies[binOf(latency)]++
}

func (w *window) reset() { w.slots = [windowSlots]slot{} }

// live calls fn for each slot inside the window ending at now.
func (w *window) live(now time.Time, fn func(*slot)) {
	e := w.epoch(now)
	for i := range w.slots {
		if s := &w.slots[i]; s.requests > 0 && s.epoch > e-windowSlots && s.epoch <= e {
			fn(s)
		}
	}
}

// windowTotals is what a window holds at one moment.
type windowTotals struct {
	requests, failures, slow uint64
	p50, p99                 time.Duration
}

func (w *window) totals(now time.Time) windowTotals {
	var t windowTotals
	var bins [latencyBins]uint64
	w.live(now, func(s *slot) {
		t.requests += s.requests
		t.failures += s.failures
		t.slow += s.slow
		for i, n := range s.latencies {
			bins[i] += uint64(n)
		}
	})
	t.p50 = quantile(&bins, t.requests, 0.50)
	t.p99 = quantile(&bins, t.requests, 0.99)
	return t
}

func binOf(d time.Duration) int {
	if d <= binBase {
		return 0
	}
	b := int(math.Ceil(4 * math.Log2(float64(d)/float64(binBase))))
	return min(b, latencyBins-1)
}

// binUpper is the largest latency bin b holds.
func binUpper(b int) time.Duration {
	return time.Duration(float64(binBase) * math.Exp2(float64(b)/4))
}

func quantile(bins *[latencyBins]uint64, n uint64, q float64) time.Duration {
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for b, c := range bins {
		if seen += c; seen >= rank {
			return binUpper(b)
		}
	}
	return binUpper(latencyBins - 1)
}
