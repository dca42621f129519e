package provider

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrOverloaded is returned, inside an *Error with status 503 and code
// "model_overloaded", when a model already has MaxConcurrency calls in
// flight and MaxQueue more waiting. It is not retryable at that model, but
// another model in the fallback chain may answer.
var ErrOverloaded = errors.New("concurrency limit and queue are full")

// limiter caps the calls in flight to one model and how many may wait for
// a slot. A nil *limiter lets everything through. Safe for concurrent use.
type limiter struct {
	slots    chan struct{} // one token per call in flight
	maxQueue int64
	queued   atomic.Int64
}

// newLimiter returns a limiter of maxConcurrency slots and a queue of
// maxQueue, or nil when maxConcurrency is not positive.
func newLimiter(maxConcurrency, maxQueue int) *limiter {
	if maxConcurrency <= 0 {
		return nil
	}
	return &limiter{slots: make(chan struct{}, maxConcurrency), maxQueue: int64(max(maxQueue, 0))}
}

// acquire takes a slot, waiting in the queue while there is room there and
// ctx is not done. It returns ErrOverloaded at once when the queue is full.
// The caller must call release exactly once; later calls do nothing.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	default:
	}
	if l.queued.Add(1) > l.maxQueue {
		l.queued.Add(-1)
		return nil, ErrOverloaded
	}
	defer l.queued.Add(-1)
	select {
	case l.slots <- struct{}{}: // blocked senders are served in FIFO order
		return l.releaser(), nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (l *limiter) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { <-l.slots }) }
}

// inFlight returns how many calls hold a slot.
func (l *limiter) inFlight() int {
	if l == nil {
		return 0
	}
	return len(l.slots)
}

// waiting returns how many calls wait for a slot.
func (l *limiter) waiting() int {
	if l == nil {
		return 0
	}
	return int(l.queued.Load())
}
