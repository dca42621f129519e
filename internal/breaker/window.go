package breaker

import "time"

// windowBuckets is how many slices the failure-rate window is cut into: the
// rate forgets old calls a tenth of a window at a time, which is smooth
// enough for a breaker and costs a fixed 10 counters per model.
const windowBuckets = 10

// window counts calls and failures over a sliding period, bucket by bucket.
// It is not safe for concurrent use; Breaker guards it.
type window struct {
	origin  time.Time     // bucket epochs count from here
	width   time.Duration // one bucket's span
	buckets [windowBuckets]bucket
}

type bucket struct {
	epoch         int64 // which slice of time this bucket holds now
	total, failed int
}

func newWindow(origin time.Time, span time.Duration) window {
	w := window{origin: origin, width: max(span/windowBuckets, 1)}
	w.reset()
	return w
}

func (w *window) epoch(now time.Time) int64 {
	d := now.Sub(w.origin)
	e := int64(d / w.width)
	if d < 0 && d%w.width != 0 {
		e-- // floor, so a clock that steps back still maps consistently
	}
	return e
}

func (w *window) slot(e int64) *bucket {
	i := e % windowBuckets
	if i < 0 {
		i += windowBuckets
	}
	return &w.buckets[i]
}

func (w *window) reset() {
	for i := range w.buckets {
		w.buckets[i] = bucket{epoch: -1 << 62}
	}
}

func (w *window) add(now time.Time, failed bool) {
	e := w.epoch(now)
	b := w.slot(e)
	if b.epoch != e {
		*b = bucket{epoch: e}
	}
	b.total++
	if failed {
		b.failed++
	}
}

// sum returns the calls and failures of the last windowBuckets buckets,
// the current one included.
func (w *window) sum(now time.Time) (total, failed int) {
	e := w.epoch(now)
	for _, b := range w.buckets {
		if b.epoch <= e && b.epoch > e-windowBuckets {
			total += b.total
			failed += b.failed
		}
	}
	return total, failed
}
