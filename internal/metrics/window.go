package metrics

import (
	"slices"
	"sync/atomic"
	"time"
)

// Window keeps the latencies of the most recent requests in a ring, so that
// /status can report p50 and p99 of current traffic rather than since start.
// Add is lock-free; Quantiles copies and sorts the ring. The zero Window is
// not usable; create it with NewWindow. It is safe for concurrent use.
type Window struct {
	next    atomic.Uint64
	samples []atomic.Int64 // nanoseconds; 0 = empty slot
}

// NewWindow returns a window of the last size samples.
func NewWindow(size int) *Window {
	return &Window{samples: make([]atomic.Int64, size)}
}

// Add records one latency.
func (w *Window) Add(d time.Duration) {
	if d <= 0 {
		d = 1
	}
	i := w.next.Add(1) - 1
	w.samples[i%uint64(len(w.samples))].Store(int64(d))
}

// Quantiles returns the latencies at quantiles qs (each in [0, 1]), in
// order, over the samples now in the window; zeros when it is empty.
func (w *Window) Quantiles(qs ...float64) []time.Duration {
	vals := make([]int64, 0, len(w.samples))
	for i := range w.samples {
		if v := w.samples[i].Load(); v > 0 {
			vals = append(vals, v)
		}
	}
	out := make([]time.Duration, len(qs))
	if len(vals) == 0 {
		return out
	}
	slices.Sort(vals)
	for i, q := range qs {
		idx := int(q*float64(len(vals))+0.5) - 1
		idx = max(0, min(idx, len(vals)-1))
		out[i] = time.Duration(vals[idx])
	}
	return out
}
