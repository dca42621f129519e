package feedback

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// RecorderOptions wire a Recorder. Store is required.
type RecorderOptions struct {
	Store Store
	// Queue caps the answers waiting to be written; more are dropped and
	// counted. Zero means DefaultQueue.
	Queue int
	// Batch caps the answers written in one call. Zero means DefaultBatch.
	Batch int
	// Linger is how long Run waits for a batch to fill before writing
	// what it has. Zero means DefaultLinger.
	Linger time.Duration
	// SweepEvery is how often Run has the store delete expired answers and
	// old ratings. Zero means DefaultSweepEvery.
	SweepEvery time.Duration
	Log        *slog.Logger
}

// Defaults of RecorderOptions. The queue holds a few seconds of a busy
// replica's answers, so that a store that stalls for a moment loses none;
// the batch makes one round trip carry many answers.
const (
	DefaultQueue      = 8192
	DefaultBatch      = 256
	DefaultSweepEvery = time.Hour
	// DefaultLinger lets a busy replica write its answers a few hundred
	// at a time rather than a few: on the embedded store each write is a
	// synced transaction, and writing as soon as anything was queued took
	// 29% of Cato's CPU at 3,600 req/s (bench/RESULTS.md). An answer is
	// rated seconds after it was given, if ever: 100 ms late costs nothing.
	DefaultLinger = 100 * time.Millisecond
)

// writeTimeout bounds one batch's write, so that a stalled store does not
// hold the queue for longer than its own timeouts would.
const writeTimeout = 5 * time.Second

// Recorder remembers answers off the request path: Record puts the answer
// in a bounded queue and returns at once, and Run writes the queue to the
// Store in batches. When the queue is full (a store that stalls) answers
// are dropped and counted, never waited for: such an answer cannot be
// rated, and the request did not pay for it. It is safe for concurrent
// use; app runs Run in its errgroup.
type Recorder struct {
	opts    RecorderOptions
	q       chan Answer
	dropped atomic.Uint64
	written atomic.Uint64
	failed  atomic.Uint64
}

// NewRecorder returns a Recorder.
func NewRecorder(opts RecorderOptions) *Recorder {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.SweepEvery <= 0 {
		opts.SweepEvery = DefaultSweepEvery
	}
	if opts.Linger <= 0 {
		opts.Linger = DefaultLinger
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{opts: opts, q: make(chan Answer, opts.Queue)}
}

// Record queues a for writing and reports whether it was queued.
func (r *Recorder) Record(a Answer) bool {
	select {
	case r.q <- a:
		return true
	default:
		r.dropped.Add(1)
		return false
	}
}

// Run writes queued answers until ctx is done, then writes what is still
// queued (bounded by writeTimeout) and returns nil. It also sweeps the
// store every SweepEvery.
func (r *Recorder) Run(ctx context.Context) error {
	sweep := time.NewTicker(r.opts.SweepEvery)
	defer sweep.Stop()
	batch := make([]Answer, 0, r.opts.Batch)
	for {
		select {
		case <-ctx.Done():
			r.flush(context.WithoutCancel(ctx))
			return nil
		case <-sweep.C:
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			if n, err := r.opts.Store.Sweep(sctx); err != nil && ctx.Err() == nil {
				r.opts.Log.Warn("sweeping feedback", slog.Any("err", err))
			} else if n > 0 {
				r.opts.Log.Debug("swept feedback", slog.Int("records", n))
			}
			cancel()
		case a := <-r.q:
			batch = r.gather(ctx, append(batch[:0], a))
			r.write(ctx, batch)
		}
	}
}

// flush writes what is queued, for at most writeTimeout in all.
func (r *Recorder) flush(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	batch := make([]Answer, 0, r.opts.Batch)
	for ctx.Err() == nil {
		batch = r.fill(batch[:0])
		if len(batch) == 0 {
			return
		}
		r.write(ctx, batch)
	}
}

// gather appends queued answers to batch until it holds Batch, Linger
// has passed or ctx is done.
func (r *Recorder) gather(ctx context.Context, batch []Answer) []Answer {
	if batch = r.fill(batch); len(batch) == r.opts.Batch {
		return batch
	}
	t := time.NewTimer(r.opts.Linger)
	defer t.Stop()
	for len(batch) < r.opts.Batch {
		select {
		case a := <-r.q:
			batch = append(batch, a)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// fill appends queued answers to batch, without waiting, up to Batch.
func (r *Recorder) fill(batch []Answer) []Answer {
	for len(batch) < r.opts.Batch {
		select {
		case a := <-r.q:
			batch = append(batch, a)
		default:
			return batch
		}
	}
	return batch
}

func (r *Recorder) write(ctx context.Context, batch []Answer) {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := r.opts.Store.Remember(wctx, batch...); err != nil {
		r.failed.Add(uint64(len(batch)))
		if ctx.Err() == nil {
			r.opts.Log.Warn("remembering answers for feedback", slog.Int("answers", len(batch)), slog.Any("err", err))
		}
		return
	}
	r.written.Add(uint64(len(batch)))
}

// RecorderStats count what became of the answers given to Record.
type RecorderStats struct {
	Written uint64 `json:"written"`
	// Dropped were refused by a full queue; Failed, by the store.
	Dropped uint64 `json:"dropped"`
	Failed  uint64 `json:"failed"`
	Queued  int    `json:"queued"`
}

// Stats returns the Recorder's counts.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{Written: r.written.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load(), Queued: len(r.q)}
}
