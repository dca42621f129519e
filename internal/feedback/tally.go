package feedback

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// TallyOptions wire a Tally. Store is required.
type TallyOptions struct {
	Store Store
	// Window is how far back ratings count. Zero means DefaultWindow.
	Window time.Duration
	// Every is how often Run reads the counts. Zero means DefaultEvery.
	Every time.Duration
	// Floor returns a time before which no rating counts: the start of the
	// rollout's current step, so that each percentage is judged on its own
	// ratings. Nil means none.
	Floor func() time.Time
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Defaults of TallyOptions. An hour gathers enough ratings at canary
// volumes to compare the sides; ten seconds is quick beside the minutes a
// complaint takes to arrive, and one read per replica every ten seconds
// costs the store nothing.
const (
	DefaultWindow = time.Hour
	DefaultEvery  = 10 * time.Second
)

// Tally holds satisfaction over a sliding window as the Store counts it,
// so that every replica sees the ratings given on any of them. It reads
// the Store every Every; Snapshot does no I/O. It is safe for concurrent
// use; app runs Run in its errgroup.
type Tally struct {
	opts TallyOptions

	mu   sync.Mutex // guards snap
	snap Snapshot
}

// Snapshot is the satisfaction read last.
type Snapshot struct {
	// Since and Until bound the ratings counted; both zero before the
	// first read.
	Since, Until time.Time
	Summary
}

// NewTally returns a Tally whose first Snapshot counts nothing.
func NewTally(opts TallyOptions) *Tally {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Every <= 0 {
		opts.Every = DefaultEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Tally{opts: opts, snap: Snapshot{Summary: Summarize(nil)}}
}

// Window returns the tally's window.
func (t *Tally) Window() time.Duration { return t.opts.Window }

// Refresh reads the counts of the window ending now. On error the last
// snapshot stays.
func (t *Tally) Refresh(ctx context.Context) error {
	until := t.opts.Now()
	since := until.Add(-t.opts.Window)
	if t.opts.Floor != nil {
		if f := t.opts.Floor(); f.After(since) {
			since = f
		}
	}
	counts, err := t.opts.Store.Counts(ctx, since, until.Add(time.Nanosecond))
	if err != nil {
		return err
	}
	snap := Snapshot{Since: since, Until: until, Summary: Summarize(counts)}
	t.mu.Lock()
	t.snap = snap
	t.mu.Unlock()
	return nil
}

// Run refreshes at once, then every Every until ctx is done, and returns
// nil then.
func (t *Tally) Run(ctx context.Context) error {
	tick := time.NewTicker(t.opts.Every)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, t.opts.Every)
		if err := t.Refresh(rctx); err != nil && ctx.Err() == nil {
			t.opts.Log.Warn("reading feedback counts", slog.Any("err", err))
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Snapshot returns the satisfaction read last.
func (t *Tally) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snap
}
