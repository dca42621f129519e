package cache

import (
	"container/heap"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/cato-gateway/cato/internal/cache/lexicon"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/vectorindex"
)

// embedder is implemented by every embed.Embedder.
type embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Defaults of a zero Options.
const (
	// DefaultThreshold was chosen on the dev pair set
	// (testdata/pairs_dev.jsonl; docs/cache.md): the content gate
	// decides near misses, so similarity only picks the candidates it
	// compares; below 0.3 the sentence encoder gains no paraphrase on
	// dev, and no threshold down to 0.1 serves a near miss more.
	// Provider embedders, whose unrelated texts score higher, may want
	// another value.
	DefaultThreshold = 0.3
	// DefaultTTL keeps an answer for a day: long enough for a question
	// asked daily to hit, short enough that stale answers age out.
	DefaultTTL = 24 * time.Hour
	// DefaultMaxEntries bounds the memory of one replica's indexes (with
	// the local embedder's 128 dimensions, about 50 MiB of vectors).
	DefaultMaxEntries = 100_000
	// DefaultCandidates is how many nearest entries the gate examines.
	DefaultCandidates = 5
	// DefaultMaxEntryBytes admits questions and answers of several pages
	// (about 5,000 English words) and keeps out pasted documents and
	// logs, which are rarely asked twice and whose gist costs two to
	// fifteen times their size in memory (budget.go).
	DefaultMaxEntryBytes = 32 << 10
	// DefaultMaxBytes is 256 MiB, for a replica in a container of 1 GiB:
	// about 90,000 entries of a short question and answer (128
	// dimensions), 60,000 with answers of 1–2 KiB, or 1,700 of the
	// largest prose allowed (docs/cache.md).
	DefaultMaxBytes = 256 << 20
)

// Options tunes a Cache. The zero Options is valid: an enabled cache with
// the defaults above.
type Options struct {
	// Disabled bypasses every lookup (reason "disabled").
	Disabled bool
	// Threshold is the cosine similarity a candidate needs before the
	// content gate looks at it. Zero means DefaultThreshold.
	Threshold float64
	// TTL is how long an entry is served. Zero means DefaultTTL.
	TTL time.Duration
	// MaxEntries caps the entries this replica holds; the oldest are
	// evicted first, from the indexes and from the store. Zero means
	// DefaultMaxEntries.
	MaxEntries int
	// MaxBytes caps the bytes of the entries this replica holds, as
	// entryBytes accounts them (strings, vectors, the gate's gist and the
	// index's share); eviction is the same as for MaxEntries, and an
	// entry is evicted when either limit is passed. Zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxEntryBytes is the longest question (Query.Text) and the longest
	// answer, in bytes, the cache takes: a longer question bypasses with
	// reason "too_large" before it is embedded, and a longer answer is not
	// stored (Stats.AnswersTooLarge). Zero means DefaultMaxEntryBytes.
	MaxEntryBytes int
	// MaxTemperature bypasses requests sampled hotter. Zero means no limit.
	MaxTemperature float64
	// Candidates is how many nearest entries the gate may examine. Zero
	// means DefaultCandidates.
	Candidates int
	// NoGate turns the content agreement gate off: for measurements only.
	NoGate bool
	// Index tunes each scope's vector index.
	Index vectorindex.Options
	// Now is the clock of entry times and TTLs. Nil means time.Now.
	Now func() time.Time
	// Observe, when set, is called after every lookup, on the caller's
	// goroutine: the hook for metrics. It must be quick and safe for
	// concurrent use.
	Observe func(LookupEvent)
}

// Cache is the semantic cache of one replica: entries in a Store shared by
// replicas, and per-scope vector indexes in memory, kept in sync by Run.
// It is safe for concurrent use.
type Cache struct {
	emb   embedder
	store Store
	opts  Options
	log   *slog.Logger
	stats counters
	ready chan struct{} // closed once Run has loaded the store

	mu      sync.RWMutex // guards entries, indexes, age and bytes
	entries map[string]*item
	indexes map[string]*vectorindex.Index // by Scope.Key
	exact   map[uint64]*item              // by exactHash of scope key and question
	seed    maphash.Seed                  // of exactHash
	age     ageHeap                       // oldest CreatedAt on top
	bytes   int64                         // sum of the entries' size
}

type item struct {
	e    Entry
	gist gist  // of e.Query, for the content gate
	size int64 // entryBytes
	pos  int   // in age
}

// New returns a cache over st that embeds with emb. It is empty until Run
// has loaded the store; lookups before then miss.
func New(emb embedder, st Store, opts Options, log *slog.Logger) *Cache {
	if opts.Threshold == 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxEntryBytes <= 0 {
		opts.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if opts.Candidates == 0 {
		opts.Candidates = DefaultCandidates
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The gate's WordNet table: decoded here, once per process, rather
	// than in the first request.
	lexicon.Load()
	return &Cache{
		emb: emb, store: st, opts: opts, log: log, ready: make(chan struct{}),
		stats:   counters{hitSim: newHistogram(similarityBounds), latency: newHistogram(latencyBounds)},
		entries: make(map[string]*item), indexes: make(map[string]*vectorindex.Index),
		exact: make(map[uint64]*item), seed: maphash.MakeSeed(),
	}
}

// Result is the answer of Lookup; pass it to Put after a miss.
type Result struct {
	Outcome Outcome
	// Reason says why, for a Bypass.
	Reason Reason
	// Entry is the served entry, for a Hit.
	Entry *Entry
	// Similarity is the served entry's similarity on a hit, else the best
	// candidate's.
	Similarity float32

	query Query
	vec   []float32
}

// Answer is what Put stores: a complete answer to a missed query.
type Answer struct {
	Text  string
	Model string
	Usage llm.Usage
}

// Off reports whether the cache was built with Options.Disabled: every
// lookup is a bypass, whatever the query.
func (c *Cache) Off() bool { return c.opts.Disabled }

// Lookup returns a stored answer to a question equivalent to q.Text in
// q.Scope (Hit), or a Miss, or a Bypass with its Reason when the rule of
// docs/cache.md says the cache must not serve q. An error (the embedder
// failed) comes with a Bypass of reason "error": the request goes on
// without the cache.
func (c *Cache) Lookup(ctx context.Context, q Query) (Result, error) {
	start := time.Now()
	r, gated, err := c.lookup(ctx, q)
	ev := LookupEvent{Outcome: r.Outcome, Reason: r.Reason, Similarity: r.Similarity, GateRejected: gated, Duration: time.Since(start)}
	c.stats.record(ev)
	if c.opts.Observe != nil {
		c.opts.Observe(ev)
	}
	return r, err
}

func (c *Cache) lookup(ctx context.Context, q Query) (Result, int, error) {
	if reason := bypassReason(&q, &c.opts); reason != ReasonNone {
		return Result{Outcome: Bypass, Reason: reason}, 0, nil
	}
	if r, ok := c.lookupExact(q); ok {
		return r, 0, nil
	}
	vecs, err := c.emb.Embed(ctx, []string{q.Text})
	if err != nil {
		return Result{Outcome: Bypass, Reason: ReasonError}, 0, fmt.Errorf("embedding the query: %w", err)
	}
	r := Result{Outcome: Miss, query: q, vec: vecs[0]}
	now := c.opts.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	ix := c.indexes[q.Scope.Key()]
	if ix == nil {
		return r, 0, nil
	}
	gated := 0
	var qg *gist
	for i, cand := range ix.Search(r.vec, c.opts.Candidates) {
		if i == 0 {
			r.Similarity = cand.Score
		}
		if float64(cand.Score) < c.opts.Threshold {
			break
		}
		it := c.entries[cand.ID]
		if it == nil || !now.Before(it.e.ExpiresAt) {
			continue
		}
		if !c.opts.NoGate {
			if qg == nil {
				g := gistOf(q.Text)
				qg = &g
			}
			if !agreeGists(*qg, it.gist) {
				gated++
				continue
			}
		}
		e := it.e
		r.Outcome, r.Entry, r.Similarity = Hit, &e, cand.Score
		return r, gated, nil
	}
	return r, gated, nil
}

// exactHash hashes a scope key and a question for the exact map.
func (c *Cache) exactHash(scopeKey, text string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(scopeKey)
	h.WriteByte(0)
	h.WriteString(text)
	return h.Sum64()
}

// lookupExact serves q, without embedding it, from an unexpired entry in
// q's scope whose question is q.Text word for word (byte for byte): an
// exact repeat costs a hash. Such a hit has similarity 1.
func (c *Cache) lookupExact(q Query) (Result, bool) {
	key := q.Scope.Key()
	h := c.exactHash(key, q.Text)
	now := c.opts.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	it := c.exact[h]
	if it == nil || it.e.Query != q.Text || it.e.Scope.Key() != key || !now.Before(it.e.ExpiresAt) {
		return Result{}, false
	}
	e := it.e
	return Result{Outcome: Hit, Entry: &e, Similarity: 1, query: q}, true
}

// Put stores ans as the answer to the query of r, when r is a Miss; it
// does nothing for a Hit or a Bypass, so that a bypassed (personal,
// contextual…) question is never stored, nor for an answer longer than
// MaxEntryBytes (counted in Stats.AnswersTooLarge). The entries it evicts
// to stay within MaxEntries and MaxBytes are deleted from the store. Call
// it only for a complete answer: not after an error, a truncated answer or
// tool calls.
func (c *Cache) Put(ctx context.Context, r Result, ans Answer) (Entry, error) {
	if r.Outcome != Miss || r.vec == nil || ans.Text == "" {
		return Entry{}, nil
	}
	if len(ans.Text) > c.opts.MaxEntryBytes {
		c.stats.answersTooLarge.Add(1)
		return Entry{}, nil
	}
	var id [16]byte
	rand.Read(id[:])
	now := c.opts.Now()
	e := Entry{
		ID: hex.EncodeToString(id[:]), Scope: r.query.Scope, Query: r.query.Text,
		Answer: ans.Text, Model: ans.Model, Usage: ans.Usage,
		CreatedAt: now, ExpiresAt: now.Add(c.opts.TTL), SessionID: r.query.SessionID, Vector: r.vec,
	}
	if err := c.store.Put(ctx, e); err != nil {
		return Entry{}, fmt.Errorf("storing cache entry: %w", err)
	}
	c.deleteEvicted(ctx, c.apply(Change{Op: OpPut, Entry: e}))
	return e, nil
}

// DeleteSession deletes the entries created by session sessionID of
// tenant, everywhere. Another tenant's session of the same id keeps its
// entries.
func (c *Cache) DeleteSession(ctx context.Context, tenant, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	if _, err := c.store.DeleteBySession(ctx, tenant, sessionID); err != nil {
		return fmt.Errorf("deleting cache entries of session %s: %w", sessionID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, it := range c.entries {
		if it.e.SessionID == sessionID && it.e.Scope.Tenant == tenant {
			c.removeLocked(id)
		}
	}
	return nil
}

// Purge deletes the entries of a tenant, a model (asked for or answering),
// or both, everywhere, and returns how many the store held.
func (c *Cache) Purge(ctx context.Context, f Filter) (int, error) {
	n, err := c.store.Purge(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("purging cache entries: %w", err)
	}
	c.apply(Change{Op: OpPurge, Filter: f})
	return n, nil
}

// Stats returns a snapshot of the counters.
func (c *Cache) Stats() Stats {
	c.mu.RLock()
	n, bytes := len(c.entries), c.bytes
	c.mu.RUnlock()
	return c.stats.snapshot(n, bytes)
}

// Ready is closed once Run has loaded the store (warm start).
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// Run keeps this replica's indexes in sync with the store until ctx is
// done: it subscribes to the change feed, loads the stored entries that
// fit MaxEntries and MaxBytes (deleting the others from the store), then
// applies changes as they come and drops expired entries every minute. A
// failed feed is re-subscribed (and the store listed again) after a second.
// It returns nil when ctx is done. app runs it in its errgroup.
func (c *Cache) Run(ctx context.Context) error {
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	defer c.closeIndexes()
	first := true
	for ctx.Err() == nil {
		feed, unsubscribe, err := c.subscribe(ctx)
		if first {
			close(c.ready)
			first = false
		}
		if err != nil {
			c.log.Warn("cache: store change feed unavailable", slog.Any("err", err))
		}
	loop:
		for feed != nil {
			select {
			case <-ctx.Done():
				break loop
			case ch, ok := <-feed:
				if !ok {
					break loop
				}
				c.deleteEvicted(ctx, c.apply(ch))
			case <-sweep.C:
				c.sweep()
			}
		}
		// A feed that failed may still hold what its store set up for it
		// (a goroutine, a registration) until its context ends.
		unsubscribe()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// subscribe opens the change feed, then loads the store. The caller calls
// unsubscribe once done with the feed, whatever the error.
func (c *Cache) subscribe(ctx context.Context) (feed <-chan Change, unsubscribe context.CancelFunc, err error) {
	sub, cancel := context.WithCancel(ctx)
	feed, err = c.store.Watch(sub)
	if err != nil {
		return nil, cancel, fmt.Errorf("watching the cache store: %w", err)
	}
	// Entries come in no particular order: those evicted on the way are
	// deleted once the whole store is read, in batches.
	n := 0
	var evicted []string
	err = c.store.List(ctx, func(e Entry) error {
		evicted = append(evicted, c.apply(Change{Op: OpPut, Entry: e})...)
		n++
		return nil
	})
	if err != nil {
		return nil, cancel, fmt.Errorf("loading the cache store: %w", err)
	}
	c.log.Info("cache: loaded entries from the store", slog.Int("entries", n-len(evicted)), slog.Int("evicted", len(evicted)))
	c.deleteEvicted(ctx, evicted)
	return feed, cancel, nil
}

// apply makes this replica's indexes reflect ch. It returns the IDs of
// the entries a put evicted, for deleteEvicted.
func (c *Cache) apply(ch Change) (evicted []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ch.Op {
	case OpPut:
		return c.putLocked(ch.Entry)
	case OpDelete:
		for _, id := range ch.IDs {
			c.removeLocked(id)
		}
	case OpPurge:
		for id, it := range c.entries {
			if ch.Filter.Match(&it.e) {
				c.removeLocked(id)
			}
		}
	}
	return nil
}

// putLocked indexes e, then evicts the oldest entries while the replica
// holds more than MaxEntries or MaxBytes. It returns the IDs it evicted,
// e's own when e may not be held at all (its question or answer is over
// MaxEntryBytes, or it alone is over MaxBytes: written before the limits
// were lowered, or by a replica with larger ones). c.mu must be held.
func (c *Cache) putLocked(e Entry) (evicted []string) {
	if old, ok := c.entries[e.ID]; ok {
		if old.e.CreatedAt.Equal(e.CreatedAt) {
			return nil // our own write, echoed by the feed
		}
		c.removeLocked(e.ID)
	}
	if !c.opts.Now().Before(e.ExpiresAt) || len(e.Vector) == 0 {
		return nil
	}
	if len(e.Query) > c.opts.MaxEntryBytes || len(e.Answer) > c.opts.MaxEntryBytes {
		c.stats.evicted.Add(1)
		return []string{e.ID}
	}
	it := &item{e: e, gist: gistOf(e.Query)}
	if it.size = entryBytes(it); it.size > c.opts.MaxBytes {
		c.stats.evicted.Add(1)
		return []string{e.ID}
	}
	key := e.Scope.Key()
	ix := c.indexes[key]
	if ix == nil {
		ix = vectorindex.New(c.opts.Index)
		c.indexes[key] = ix
	}
	if err := ix.Add(e.ID, e.Vector); err != nil {
		// Entries embedded by another embedder (its size differs) cannot
		// be compared; they age out of the store.
		c.log.Debug("cache: entry not indexed", slog.String("id", e.ID), slog.Any("err", err))
		return nil
	}
	c.entries[e.ID] = it
	c.exact[c.exactHash(key, e.Query)] = it
	c.bytes += it.size
	heap.Push(&c.age, it)
	for len(c.entries) > c.opts.MaxEntries || c.bytes > c.opts.MaxBytes {
		id := c.age[0].e.ID
		c.removeLocked(id)
		evicted = append(evicted, id)
	}
	c.stats.evicted.Add(uint64(len(evicted)))
	return evicted
}

// removeLocked forgets entry id. c.mu must be held.
func (c *Cache) removeLocked(id string) {
	it, ok := c.entries[id]
	if !ok {
		return
	}
	delete(c.entries, id)
	key := it.e.Scope.Key()
	if h := c.exactHash(key, it.e.Query); c.exact[h] == it {
		delete(c.exact, h)
	}
	c.bytes -= it.size
	heap.Remove(&c.age, it.pos)
	if ix := c.indexes[key]; ix != nil {
		ix.Delete(id)
		if ix.Len() == 0 {
			ix.Close()
			delete(c.indexes, key)
		}
	}
}

// sweep drops expired entries.
func (c *Cache) sweep() {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.age) > 0 {
		// ExpiresAt follows CreatedAt when the TTL is the same everywhere;
		// an entry with a longer TTL behind an expired one waits a sweep.
		top := c.age[0]
		if now.Before(top.e.ExpiresAt) {
			break
		}
		c.removeLocked(top.e.ID)
	}
}

func (c *Cache) closeIndexes() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ix := range c.indexes {
		ix.Close()
	}
}

// ageHeap orders items by CreatedAt, oldest first.
type ageHeap []*item

func (h ageHeap) Len() int { return len(h) }
func (h ageHeap) Less(i, j int) bool {
	if !h[i].e.CreatedAt.Equal(h[j].e.CreatedAt) {
		return h[i].e.CreatedAt.Before(h[j].e.CreatedAt)
	}
	return h[i].e.ID < h[j].e.ID
}
func (h ageHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *ageHeap) Push(x any) {
	it := x.(*item)
	it.pos = len(*h)
	*h = append(*h, it)
}
func (h *ageHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
