package rollout

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Poller keeps a Decider's flag in step with the FlagStore that all replicas
// share. It applies a change as soon as the store's change feed (Watch)
// reports one, and re-reads the store every interval as a safety net for a
// broken or missing feed, so with the default 1s interval every replica
// applies a change within 2 seconds. Create it with NewPoller; app runs Run
// in its errgroup.
type Poller struct {
	store FlagStore
	dec   *Decider
	every time.Duration
	log   *slog.Logger

	history atomic.Pointer[[]Flag] // latest changes, newest first, for /status

	// Run's goroutine alone uses these.
	lower   int  // consecutive polls that read a version below the applied one
	failing bool // the last read failed (logged once per outage)
}

// DefaultPoll is the Poller's interval unless told otherwise.
const DefaultPoll = time.Second

// NewPoller returns a Poller that reads store into dec. every is the poll
// interval; zero means DefaultPoll.
func NewPoller(store FlagStore, dec *Decider, every time.Duration, log *slog.Logger) *Poller {
	if every <= 0 {
		every = DefaultPoll
	}
	return &Poller{store: store, dec: dec, every: every, log: log}
}

// Run reads the flag at once, then on every change notification and every
// interval, until ctx is done; it returns nil then. Read failures are
// logged and the last applied flag stays in force.
func (p *Poller) Run(ctx context.Context) error {
	var feed <-chan struct{}
	subscribe := func() {
		ch, err := p.store.Watch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("rollout change feed unavailable; polling only", slog.Any("err", err))
			}
			return
		}
		feed = ch
	}
	subscribe()
	p.refresh(ctx, false)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-feed:
			if !ok {
				feed = nil // subscribe again on the next tick
				continue
			}
			p.refresh(ctx, false)
		case <-t.C:
			if feed == nil {
				subscribe()
			}
			p.refresh(ctx, true)
		}
	}
}

// refresh reads the store once and applies a newer flag. On a poll, a
// version below the applied one read twice in a row means the store was
// wiped and refilled: the store wins.
func (p *Poller) refresh(ctx context.Context, poll bool) {
	rctx, cancel := context.WithTimeout(ctx, 2*p.every)
	defer cancel()
	f, err := p.store.Get(rctx)
	switch {
	case errors.Is(err, ErrNoFlag):
		return
	case err != nil:
		if !p.failing && ctx.Err() == nil {
			p.log.Warn("reading rollout flag failed; keeping the last one", slog.Any("err", err))
		}
		p.failing = true
		return
	}
	if p.failing {
		p.log.Info("reading rollout flag works again")
		p.failing = false
	}
	if p.history.Load() == nil {
		p.loadHistory(ctx)
	}
	cur := p.dec.Flag()
	switch {
	case f.Version == cur.Version:
		p.lower = 0
		return
	case f.Version < cur.Version:
		if !poll {
			return
		}
		if p.lower++; p.lower < 2 {
			return
		}
		p.log.Warn("rollout flag version went backwards; applying the stored flag",
			slog.Int64("version", f.Version), slog.Int64("applied_version", cur.Version))
		p.dec.Replace(f)
	default:
		if !p.dec.Apply(f) {
			return
		}
	}
	p.lower = 0
	p.log.Info("rollout flag applied", flagAttrs(f)...)
	p.loadHistory(ctx)
}

// statusHistory is how many changes /status shows.
const statusHistory = 20

func (p *Poller) loadHistory(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 2*p.every)
	defer cancel()
	if h, err := p.store.History(rctx, statusHistory); err == nil {
		p.history.Store(&h)
	}
}

// History returns the latest changes (up to 20, newest first) as last read
// from the store, without reading it: /status calls it.
func (p *Poller) History() []Flag {
	if h := p.history.Load(); h != nil {
		return *h
	}
	return []Flag{}
}

func flagAttrs(f Flag) []any {
	return []any{
		slog.Float64("percentage", f.Percentage), slog.Int64("version", f.Version),
		slog.String("source", string(f.Source)), slog.String("actor", f.Actor),
		slog.String("reason", f.Reason), slog.Time("changed_at", f.At),
	}
}
