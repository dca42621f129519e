package cache

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// countingEmbedder counts the texts it embeds.
type countingEmbedder struct {
	embedder
	texts atomic.Int64
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.embedder.Embed(ctx, texts)
}

// TestMaxEntryBytes: a question over the limit bypasses before it is
// embedded; an answer over it is not stored; both are counted.
func TestMaxEntryBytes(t *testing.T) {
	emb := &countingEmbedder{embedder: newLocal(t)}
	st := NewMemoryStore(nil)
	c := New(emb, st, Options{MaxEntryBytes: 100}, slog.New(slog.DiscardHandler))
	ctx := context.Background()

	long := "What is Python? " + strings.Repeat("Python is a language. ", 4) // 104 bytes
	r, err := c.Lookup(ctx, Query{Scope: scopeA, Text: long})
	if err != nil || r.Outcome != Bypass || r.Reason != ReasonTooLarge {
		t.Errorf("Lookup(%d bytes) = %v %q, %v; want bypass too_large", len(long), r.Outcome, r.Reason, err)
	}
	if n := emb.texts.Load(); n != 0 {
		t.Errorf("the embedder was given %d texts; want none for a question over the limit", n)
	}

	r = lookup(t, c, Query{Scope: scopeA, Text: "What is Python?"})
	if r.Outcome != Miss {
		t.Fatalf("a short question: %v; want miss", r.Outcome)
	}
	if e, err := c.Put(ctx, r, Answer{Text: strings.Repeat("a", 101)}); err != nil || e.ID != "" {
		t.Errorf("Put(101-byte answer) = %+v, %v; want nothing stored", e, err)
	}
	if e, err := c.Put(ctx, r, Answer{Text: strings.Repeat("a", 100)}); err != nil || e.ID == "" {
		t.Errorf("Put(100-byte answer) = %+v, %v; want it stored", e, err)
	}
	st2 := c.Stats()
	if st2.BypassesByReason[ReasonTooLarge] != 1 || st2.AnswersTooLarge != 1 || st2.Entries != 1 {
		t.Errorf("Stats: too_large bypasses %d, answers too large %d, entries %d; want 1, 1, 1",
			st2.BypassesByReason[ReasonTooLarge], st2.AnswersTooLarge, st2.Entries)
	}
	if got := storedIDs(t, st); len(got) != 1 {
		t.Errorf("the store holds %d entries; want 1", len(got))
	}
}

// TestNonTextNeverCached: a query with content other than text is neither
// served nor stored, even when the same text alone is cached.
func TestNonTextNeverCached(t *testing.T) {
	c := newRunning(t, NewMemoryStore(nil), Options{})
	ask(t, c, Query{Scope: scopeA, Text: "Describe the picture."}, "A text-only answer.")
	r := ask(t, c, Query{Scope: scopeA, Text: "Describe the picture.", NonText: true}, "An answer about a cat.")
	if r.Outcome != Bypass || r.Reason != ReasonNonText {
		t.Errorf("with an image: %v %q; want bypass non_text_content", r.Outcome, r.Reason)
	}
	if e, err := c.Put(context.Background(), r, Answer{Text: "An answer about a cat."}); err != nil || e.ID != "" {
		t.Errorf("Put after a non-text bypass = %+v, %v; want nothing stored", e, err)
	}
	if r := lookup(t, c, Query{Scope: scopeA, Text: "Describe the picture."}); r.Outcome != Hit || r.Entry.Answer != "A text-only answer." {
		t.Errorf("text alone: %v; want the text-only answer", r.Outcome)
	}
	if st := c.Stats(); st.BypassesByReason[ReasonNonText] != 1 || st.Entries != 1 {
		t.Errorf("non_text_content bypasses %d, entries %d; want 1, 1", st.BypassesByReason[ReasonNonText], st.Entries)
	}
}

// wordSalad returns about size bytes of distinct, cacheable words: no word
// the bypass rule reacts to, and a different text for each seed.
func wordSalad(rng *rand.Rand, size int) string {
	syll := []string{"zu", "ko", "va", "pe", "xi", "bo", "fa", "gu"}
	var b strings.Builder
	for b.Len() < size {
		for range 2 + rng.IntN(3) {
			b.WriteString(syll[rng.IntN(len(syll))])
		}
		b.WriteByte(' ')
	}
	return b.String()[:size]
}

func storedIDs(t *testing.T, st Store) []string {
	t.Helper()
	var ids []string
	if err := st.List(context.Background(), func(e Entry) error {
		ids = append(ids, e.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// TestByteBudget stores many entries of a few tens of KiB, each within
// MaxEntryBytes, through Put: the bytes held never pass MaxBytes, the
// oldest entries go first, and the store keeps the same entries as the
// indexes.
func TestByteBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxBytes = 2 << 20
		st := NewMemoryStore(nil)
		c := newRunning(t, st, Options{MaxBytes: maxBytes})
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		var ids []string // in the order stored
		for i := range 60 {
			q := fmt.Sprintf("Explain %s?", wordSalad(rng, 4_000+rng.IntN(20_000)))
			r := lookup(t, c, Query{Scope: scopeA, Text: q})
			if r.Outcome != Miss {
				t.Fatalf("entry %d: %v %q; want miss", i, r.Outcome, r.Reason)
			}
			e, err := c.Put(ctx, r, Answer{Text: wordSalad(rng, 1+rng.IntN(DefaultMaxEntryBytes))})
			if err != nil || e.ID == "" {
				t.Fatalf("Put %d = %v; want stored", i, err)
			}
			ids = append(ids, e.ID)
			if b := c.Stats().Bytes; b > maxBytes {
				t.Fatalf("after %d entries the cache accounts %d bytes; budget %d", i+1, b, maxBytes)
			}
			time.Sleep(time.Second)
		}
		synctest.Wait() // the feed's echoes
		s := c.Stats()
		if s.Entries < 5 || s.Entries >= len(ids) {
			t.Fatalf("%d of %d entries held; want the budget to hold some and evict some", s.Entries, len(ids))
		}
		t.Logf("%d of %d entries held, %d bytes accounted", s.Entries, len(ids), s.Bytes)
		if s.Bytes > maxBytes || s.Bytes < maxBytes/2 {
			t.Errorf("the entries held account %d bytes; want at most %d, and not far below", s.Bytes, maxBytes)
		}
		if int(s.Evictions) != len(ids)-s.Entries {
			t.Errorf("Evictions = %d; want %d", s.Evictions, len(ids)-s.Entries)
		}
		// Oldest first: what is held is the newest entries, and the store
		// holds just those.
		want := slices.Clone(ids[len(ids)-s.Entries:])
		slices.Sort(want)
		if got := storedIDs(t, st); !slices.Equal(got, want) {
			t.Errorf("the store holds %d entries %v; want the newest %d %v", len(got), got, len(want), want)
		}
		c.mu.RLock()
		held := make([]string, 0, len(c.entries))
		for id := range c.entries {
			held = append(held, id)
		}
		c.mu.RUnlock()
		slices.Sort(held)
		if !slices.Equal(held, want) {
			t.Errorf("the indexes hold %v; want the newest %v", held, want)
		}
	})
}

// TestWarmStartLoadsWhatFits: a replica starting on a store that holds
// more than its limits allow loads the newest entries that fit and deletes
// the rest from the store, entries over MaxEntryBytes included.
func TestWarmStartLoadsWhatFits(t *testing.T) {
	st := NewMemoryStore(nil)
	ctx := context.Background()
	emb := newLocal(t)
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Now()
	var ids []string // oldest first
	for i := range 40 {
		q := fmt.Sprintf("Explain %s?", wordSalad(rng, 8_000))
		vecs, err := emb.Embed(ctx, []string{q})
		if err != nil {
			t.Fatal(err)
		}
		e := Entry{
			ID: fmt.Sprintf("%032x", i), Scope: scopeA, Query: q, Answer: wordSalad(rng, 8_000), Model: "m",
			CreatedAt: start.Add(time.Duration(i) * time.Second), ExpiresAt: start.Add(time.Hour), Vector: vecs[0],
		}
		ids = append(ids, e.ID)
		if err := st.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Written by an older version, without a limit on the answer.
	big := Entry{ID: "big", Scope: scopeA, Query: "What is a big answer?", Answer: strings.Repeat("x", DefaultMaxEntryBytes+1),
		CreatedAt: start.Add(time.Minute), ExpiresAt: start.Add(time.Hour), Vector: ids2vec(emb, t, "What is a big answer?")}
	if err := st.Put(ctx, big); err != nil {
		t.Fatal(err)
	}

	const maxBytes = 1 << 20
	c := newRunning(t, st, Options{MaxBytes: maxBytes})
	s := c.Stats()
	if s.Bytes > maxBytes || s.Entries < 5 || s.Entries >= len(ids) {
		t.Fatalf("after the warm start: %d entries, %d bytes; want some of %d entries, within %d bytes", s.Entries, s.Bytes, len(ids), maxBytes)
	}
	got := storedIDs(t, st)
	if slices.Contains(got, "big") {
		t.Error("the entry with an answer over max_entry_bytes is still in the store")
	}
	if len(got) != s.Entries {
		t.Errorf("the store holds %d entries after the warm start; want the %d loaded", len(got), s.Entries)
	}
	// List's order is random: entries are evicted oldest first among those
	// seen so far, so the newest always stays and the oldest goes.
	if newest, oldest := ids[len(ids)-1], ids[0]; !slices.Contains(got, newest) || slices.Contains(got, oldest) {
		t.Errorf("kept %v; want the newest %s kept and the oldest %s gone", got, newest, oldest)
	}
}

func ids2vec(emb embedder, t *testing.T, text string) []float32 {
	t.Helper()
	v, err := emb.Embed(context.Background(), []string{text})
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// TestEntryBytesBoundHeap checks the accounting of budget.go against the
// heap: for each shape of entry, what the cache accounts is at least what
// the heap grows by when the entries are indexed (the strings and vectors
// counted too), and at most twice that. A failure after a change to the
// gist or the index means entryBytes needs the new figures.
func TestEntryBytesBoundHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap over a few hundred MB of allocations")
	}
	prose, err := os.ReadFile("testdata/pairs_dev.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	fromProse := func(size int) string {
		off := rng.IntN(len(prose) - size)
		return string(prose[off : off+size])
	}
	// threeLetters is the worst case found for the gist: a distinct
	// content word every four bytes.
	threeLetters := func(size int) string {
		var b strings.Builder
		for b.Len() < size {
			b.WriteByte(byte('a' + rng.IntN(26)))
			b.WriteByte(byte('a' + rng.IntN(26)))
			b.WriteByte(byte('a' + rng.IntN(26)))
			b.WriteByte(' ')
		}
		return b.String()[:size]
	}
	tests := []struct {
		name           string
		n              int
		question       func() string
		answer         func() string
		exactBelowFive bool // build the HNSW graph from the start
	}{
		{"short question and answer", 2000, func() string { return fromProse(40) }, func() string { return fromProse(200) }, false},
		{"short, in an HNSW graph", 500, func() string { return fromProse(40) }, func() string { return fromProse(200) }, true},
		{"a page of prose", 300, func() string { return fromProse(4_000) }, func() string { return fromProse(4_000) }, false},
		{"the largest prose", 100, func() string { return fromProse(DefaultMaxEntryBytes) }, func() string { return fromProse(DefaultMaxEntryBytes) }, false},
		{"a page of three-letter words", 200, func() string { return threeLetters(4_000) }, func() string { return fromProse(100) }, false},
		{"the largest three-letter words", 60, func() string { return threeLetters(DefaultMaxEntryBytes) }, func() string { return fromProse(100) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			es := make([]Entry, tt.n)
			held := 0 // bytes the test itself holds: strings and vectors
			for i := range es {
				v := make([]float32, 128)
				for j := range v {
					v[j] = rng.Float32() - 0.5
				}
				es[i] = Entry{
					ID: fmt.Sprintf("%032x", i), Scope: scopeA, Query: tt.question(), Answer: tt.answer(),
					Model: "bedrock_haiku", SessionID: "s1", CreatedAt: now, ExpiresAt: now.Add(time.Hour), Vector: v,
				}
				held += len(es[i].ID) + len(es[i].Query) + len(es[i].Answer) + 4*len(v)
			}
			opts := Options{}
			if tt.exactBelowFive {
				opts.Index.ExactBelow = 5
			}
			// measure fills a new cache with es and returns what the heap
			// grew by and what the cache accounted for. Anything else that
			// allocates meanwhile (a test before this one winding down)
			// can only add to the growth, so the least of three runs is
			// the one to judge.
			measure := func() (grown, accounted int64, n int) {
				c := New(nil, NewMemoryStore(nil), opts, slog.New(slog.DiscardHandler))
				defer c.closeIndexes()
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				for _, e := range es {
					c.apply(Change{Op: OpPut, Entry: e})
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				grown = int64(after.HeapAlloc) - int64(before.HeapAlloc) + int64(held)
				c.mu.RLock()
				accounted, n = c.bytes, len(c.entries)
				c.mu.RUnlock()
				runtime.KeepAlive(c)
				return grown, accounted, n
			}
			grown, accounted, n := measure()
			for range 2 {
				g, _, _ := measure()
				grown = min(grown, g)
			}
			runtime.KeepAlive(es)
			if n != tt.n {
				t.Fatalf("%d entries indexed; want %d", n, tt.n)
			}
			t.Logf("per entry: accounted %d bytes, heap %d bytes (ratio %.2f)", accounted/int64(n), grown/int64(n), float64(accounted)/float64(grown))
			if accounted < grown || accounted > 2*grown {
				t.Errorf("accounted %d bytes for a heap of %d; want between 1 and 2 times the heap", accounted, grown)
			}
		})
	}
}
