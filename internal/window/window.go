package window

import (
	"iter"
	"time"
)

// Window is a sliding window of time cut into buckets of equal width; B is
// what one bucket holds (counts, a latency histogram). The bucket of the
// current slice of time is emptied when time first reaches it, so the
// window forgets its oldest bucket's worth at a time: with n buckets the
// figures it reads move in steps of span/n, a trade of precision for a
// fixed cost per window.
//
// The zero Window is not usable; create it with New. It is not safe for
// concurrent use: its owner guards it.
type Window[B any] struct {
	origin time.Time     // slice numbers count from here
	width  time.Duration // one bucket's span
	slots  []slot[B]
}

type slot[B any] struct {
	epoch int64 // which slice of time the bucket holds now
	b     B
}

// stale is the epoch of an empty slot: older than any slice.
const stale = -1 << 62

// New returns an empty window of n buckets spanning span, whose slices of
// time start at origin (usually the owner's creation time). n below 1
// means 1; a span too short for n buckets gets buckets of 1ns.
func New[B any](origin time.Time, span time.Duration, n int) *Window[B] {
	n = max(n, 1)
	w := &Window[B]{origin: origin, width: max(span/time.Duration(n), 1), slots: make([]slot[B], n)}
	w.Reset()
	return w
}

func (w *Window[B]) epoch(now time.Time) int64 {
	d := now.Sub(w.origin)
	e := int64(d / w.width)
	if d < 0 && d%w.width != 0 {
		e-- // floor, so a clock that steps back still maps consistently
	}
	return e
}

func (w *Window[B]) slot(e int64) *slot[B] {
	i := e % int64(len(w.slots))
	if i < 0 {
		i += int64(len(w.slots))
	}
	return &w.slots[i]
}

// At returns the bucket of the slice of time that holds now, emptied first
// if it still held an older slice.
func (w *Window[B]) At(now time.Time) *B {
	e := w.epoch(now)
	s := w.slot(e)
	if s.epoch != e {
		*s = slot[B]{epoch: e}
	}
	return &s.b
}

// Live yields the buckets inside the window that ends at now, the current
// one included, in no particular order.
func (w *Window[B]) Live(now time.Time) iter.Seq[*B] {
	return func(yield func(*B) bool) {
		e := w.epoch(now)
		n := int64(len(w.slots))
		for i := range w.slots {
			if s := &w.slots[i]; s.epoch <= e && s.epoch > e-n {
				if !yield(&s.b) {
					return
				}
			}
		}
	}
}

// Reset empties every bucket.
func (w *Window[B]) Reset() {
	for i := range w.slots {
		w.slots[i] = slot[B]{epoch: stale}
	}
}
