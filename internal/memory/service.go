package memory

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/embed"
	"golang.org/x/sync/errgroup"
)

// Defaults of Options.
const (
	DefaultRecallK       = 3
	DefaultContextTokens = 400
	DefaultWorkers       = 2
	DefaultBatch         = 16
	DefaultBuffer        = 8192
)

// Options configure a Memory. Store, Queue and Embedder are required;
// zero values of the others take the defaults named.
type Options struct {
	Store    Store
	Queue    Queue
	Embedder embed.Embedder
	// Extractor finds facts; nil means RuleExtractor.
	Extractor Extractor
	// Judge relates new facts to current ones; nil means a RuleJudge on
	// Embedder.
	Judge Judge
	// Disabled turns memory off for every tenant Tenants does not turn on.
	Disabled bool
	// Tenants turns memory on (true) or off (false) for single tenants.
	Tenants map[string]bool
	// RecallK is how many facts and how many episodes recall adds at most.
	// Zero means DefaultRecallK.
	RecallK int
	// ContextTokens is the token budget of what recall adds to a prompt.
	// Zero means DefaultContextTokens.
	ContextTokens int
	// Workers is how many goroutines consolidate. Zero means
	// DefaultWorkers.
	Workers int
	// Batch is how many interactions a worker claims at once. Zero means
	// DefaultBatch.
	Batch int
	// Buffer is how many interactions Record holds for the queue before it
	// drops new ones. Zero means DefaultBuffer.
	Buffer int
	// Count counts the tokens of a text; nil means a quarter of its bytes.
	Count func(string) int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ObserveRecall, when set, is called after each recall.
	ObserveRecall func(RecallEvent)
	Log           *slog.Logger
}

// Memory is long-term memory: Record and Submit take interactions, Run
// consolidates them, Recall finds what a prompt should know, and Facts,
// Episodes, ForgetUser and ForgetSession serve the API. It is safe for
// concurrent use.
type Memory struct {
	opt      Options
	consumer string
	rec      *recorder
	stats    counters
	// queueStats is the queue's state as last read by Run (every
	// statsEvery), for /status and /metrics.
	queueStats atomic.Pointer[QueueStats]
}

// New returns a Memory. Call Run to consolidate what it records.
func New(opt Options) (*Memory, error) {
	if opt.Store == nil || opt.Queue == nil || opt.Embedder == nil {
		return nil, errors.New("memory: Store, Queue and Embedder are required")
	}
	if opt.Extractor == nil {
		opt.Extractor = RuleExtractor{}
	}
	if opt.Judge == nil {
		opt.Judge = &RuleJudge{Embedder: opt.Embedder}
	}
	opt.RecallK = cmp.Or(opt.RecallK, DefaultRecallK)
	opt.ContextTokens = cmp.Or(opt.ContextTokens, DefaultContextTokens)
	opt.Workers = cmp.Or(opt.Workers, DefaultWorkers)
	opt.Batch = cmp.Or(opt.Batch, DefaultBatch)
	opt.Buffer = cmp.Or(opt.Buffer, DefaultBuffer)
	if opt.Count == nil {
		opt.Count = func(s string) int { return (len(s) + 3) / 4 }
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	m := &Memory{opt: opt, consumer: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))}
	if me, ok := opt.Extractor.(*ModelExtractor); ok && me.OnRetry == nil {
		me.OnRetry = func() { m.stats.extractions.add("model/retried", 1) }
	}
	m.rec = newRecorder(opt.Queue, opt.Buffer, &m.stats, opt.Log)
	m.queueStats.Store(&QueueStats{})
	return m, nil
}

// On reports whether memory is on for tenant.
func (m *Memory) On(tenant string) bool {
	if on, ok := m.opt.Tenants[tenant]; ok {
		return on
	}
	return !m.opt.Disabled
}

// Record takes an interaction answered on the request path and hands it
// to the queue in the background: it costs a channel send and never
// blocks. It sets the ID and time when unset, cuts texts over
// MaxTextBytes, and drops (and counts) what it cannot take: an invalid
// key, a tenant whose memory is off, a full buffer. What Record took
// reaches the durable queue within one write of the queue, or at
// shutdown (Run drains it).
func (m *Memory) Record(in Interaction) {
	if !m.On(in.Tenant) || in.Key().Validate() != nil {
		m.stats.skipped.Add(1)
		return
	}
	now := m.opt.Now()
	if in.ID == "" {
		in.ID = newID(now)
	}
	if in.At.IsZero() {
		in.At = now
	}
	in.Query, in.Response = cut(in.Query), cut(in.Response)
	if checkID(in.SessionID) != nil {
		in.SessionID = ""
	}
	if checkID(in.Domain) != nil {
		in.Domain = ""
	}
	m.rec.record(in)
}

// cut shortens s to MaxTextBytes, at a rune boundary.
func cut(s string) string {
	if len(s) <= MaxTextBytes {
		return s
	}
	i := MaxTextBytes
	for i > 0 && s[i]&0xc0 == 0x80 {
		i--
	}
	return s[:i]
}

// Submit validates in, sets its ID and time, and enqueues it durably: when
// it returns, the interaction survives a crash. It returns the ID.
func (m *Memory) Submit(ctx context.Context, in Interaction) (string, error) {
	if !m.On(in.Tenant) {
		return "", ErrDisabled
	}
	now := m.opt.Now()
	in.ID, in.At = newID(now), now
	if err := in.Validate(); err != nil {
		return "", err
	}
	if err := m.opt.Queue.Enqueue(ctx, []Interaction{in}); err != nil {
		return "", err
	}
	m.stats.submitted.Add(1)
	return in.ID, nil
}

// FactFilter selects facts.
type FactFilter struct {
	// Domain, when set, keeps the facts of that domain.
	Domain string
	// History adds superseded facts.
	History bool
}

// Facts returns k's facts that f selects, the latest updated first.
func (m *Memory) Facts(ctx context.Context, k Key, f FactFilter) ([]Fact, error) {
	if !m.On(k.Tenant) {
		return nil, ErrDisabled
	}
	which := CurrentFacts
	if f.History {
		which = AllFacts
	}
	st, err := m.opt.Store.Load(ctx, k, which)
	if err != nil {
		return nil, err
	}
	var out []Fact
	for _, fa := range st.Facts {
		if (f.Domain == "" || fa.Domain == f.Domain) && (f.History || fa.Current()) {
			out = append(out, fa)
		}
	}
	slices.SortFunc(out, func(a, b Fact) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Episodes returns up to n episodes of k most similar to q.
func (m *Memory) Episodes(ctx context.Context, k Key, q string, n int) ([]EpisodeHit, error) {
	if !m.On(k.Tenant) {
		return nil, ErrDisabled
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	vs, err := m.opt.Embedder.Embed(ctx, []string{q})
	if err != nil {
		return nil, fmt.Errorf("embedding the query: %w", err)
	}
	return m.opt.Store.SearchEpisodes(ctx, k, vs[0], n)
}

// statsEvery is how often Run reads the queue's state.
const statsEvery = 2 * time.Second

// Run consolidates until ctx ends: Workers goroutines claim batches from
// the queue, and the recorder writes what Record took to the queue. When
// ctx ends, each worker finishes the batch it holds and the recorder
// writes what it still holds, so that shutdown loses nothing; Run then
// returns. app runs it in its errgroup.
func (m *Memory) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.rec.run(gctx) })
	for i := range m.opt.Workers {
		g.Go(func() error { return m.work(gctx, fmt.Sprintf("%s-w%d", m.consumer, i)) })
	}
	g.Go(func() error {
		t := time.NewTicker(statsEvery)
		defer t.Stop()
		for {
			m.RefreshQueueStats(gctx)
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	return g.Wait()
}

// RefreshQueueStats reads the queue's state now.
func (m *Memory) RefreshQueueStats(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := m.opt.Queue.Stats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.opt.Log.Warn("reading the memory queue's state failed", slog.Any("err", err))
		}
		return
	}
	m.queueStats.Store(&st)
}
