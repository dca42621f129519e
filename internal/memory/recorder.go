package memory

import (
	"context"
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/backoff"
)

// recorder carries interactions from the request path to the durable
// queue: Record's channel send is all a request pays; run writes what
// accumulated in one Enqueue (one transaction, one fsync for the embedded
// store), so that a burst of requests costs one write.
type recorder struct {
	q     Queue
	ch    chan Interaction
	stats *counters
	log   *slog.Logger
}

// maxWrite bounds the interactions one Enqueue writes.
const maxWrite = 512

// drainTimeout bounds writing what the recorder holds at shutdown.
const drainTimeout = 5 * time.Second

func newRecorder(q Queue, size int, stats *counters, log *slog.Logger) *recorder {
	return &recorder{q: q, ch: make(chan Interaction, size), stats: stats, log: log}
}

// record hands in to run, or drops it when the buffer is full: the store
// is slower than the requests, and a request must not wait for it.
func (r *recorder) record(in Interaction) {
	select {
	case r.ch <- in:
		r.stats.recorded.Add(1)
	default:
		r.stats.dropped.Add(1)
	}
}

// run writes batches to the queue until ctx ends, then writes what is left
// within drainTimeout.
func (r *recorder) run(ctx context.Context) error {
	batch := make([]Interaction, 0, maxWrite)
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
			defer cancel()
			return r.flush(dctx)
		case in := <-r.ch:
			batch = append(batch[:0], in)
			batch = r.take(batch)
			r.write(ctx, batch)
		}
	}
}

// take adds to batch what the channel holds, up to maxWrite.
func (r *recorder) take(batch []Interaction) []Interaction {
	for len(batch) < maxWrite {
		select {
		case in := <-r.ch:
			batch = append(batch, in)
		default:
			return batch
		}
	}
	return batch
}

// write enqueues batch, retrying with backoff while the store fails; when
// ctx ends first it tries once more within drainTimeout, and counts what
// it could not write as lost.
func (r *recorder) write(ctx context.Context, batch []Interaction) {
	pol := backoff.Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	for attempt := 1; ; attempt++ {
		err := r.q.Enqueue(ctx, batch)
		if err == nil {
			r.stats.enqueued.Add(int64(len(batch)))
			return
		}
		if ctx.Err() != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
			err = r.q.Enqueue(dctx, batch)
			cancel()
			if err == nil {
				r.stats.enqueued.Add(int64(len(batch)))
			} else {
				r.stats.lost.Add(int64(len(batch)))
				r.log.Error("interactions lost: the memory queue could not be written at shutdown", slog.Int("interactions", len(batch)), slog.Any("err", err))
			}
			return
		}
		r.log.Warn("writing interactions to the memory queue failed; retrying", slog.Int("interactions", len(batch)), slog.Any("err", err))
		t := time.NewTimer(pol.Delay(attempt, nil))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// flush writes everything the channel holds, in batches.
func (r *recorder) flush(ctx context.Context) error {
	for {
		batch := r.take(nil)
		if len(batch) == 0 {
			return nil
		}
		if err := r.q.Enqueue(ctx, batch); err != nil {
			n := len(batch) + len(r.ch)
			r.stats.lost.Add(int64(n))
			r.log.Error("interactions lost: the memory queue could not be written at shutdown", slog.Int("interactions", n), slog.Any("err", err))
			return nil
		}
		r.stats.enqueued.Add(int64(len(batch)))
	}
}
