package provider

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
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

// acquire takes a slot, waiting in the queue while there is room there,
// ctx is not done and the budget (zero: none) has not run out, which ends
// the wait with errBudget. It returns ErrOverloaded at once when the queue
// is full. A caller that got a slot must call release exactly once.
func (l *limiter) acquire(ctx context.Context, budget time.Time) error {
	if l == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.queued.Add(1) > l.maxQueue {
		l.queued.Add(-1)
		return ErrOverloaded
	}
	defer l.queued.Add(-1)
	if !budget.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, budget, errBudget)
		defer cancel()
	}
	select {
	case l.slots <- struct{}{}: // blocked senders are served in FIFO order
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// release gives back a slot acquire took. It is a method rather than a
// closure per call, which cost two allocations a request (BenchmarkProxy
// in internal/app); Guard calls it exactly once per slot: at the end of
// Chat, or when a stream's attempt ends or fails to open.
func (l *limiter) release() {
	if l != nil {
		<-l.slots
	}
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
