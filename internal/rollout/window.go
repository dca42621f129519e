package rollout

import (
	"math"
	"time"

	"github.com/cato-gateway/cato/internal/window"
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

// slot holds the outcomes of one slice of a side's sliding window (a
// window.Window of windowSlots slots, which Stats guards).
type slot struct {
	requests  uint64
	failures  uint64
	slow      uint64 // latency above slowAfter
	latencies [latencyBins]uint32
}

func (s *slot) add(latency time.Duration, failed bool, slowAfter time.Duration) {
	s.requests++
	if failed {
		s.failures++
	}
	if slowAfter > 0 && latency > slowAfter {
		s.slow++
	}
	s.latencies[binOf(latency)]++
}

// windowTotals is what a window holds at one moment.
type windowTotals struct {
	requests, failures, slow uint64
	p50, p99                 time.Duration
}

func totals(w *window.Window[slot], now time.Time) windowTotals {
	var t windowTotals
	var bins [latencyBins]uint64
	for s := range w.Live(now) {
		if s.requests == 0 {
			continue
		}
		t.requests += s.requests
		t.failures += s.failures
		t.slow += s.slow
		for i, n := range s.latencies {
			bins[i] += uint64(n)
		}
	}
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
