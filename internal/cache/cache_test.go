package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/embed/use"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/vectorindex"
)

func newLocal(t testing.TB) *embed.Local {
	t.Helper()
	l, err := embed.NewLocal(embed.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newEncoder returns the built-in sentence encoder, the default embedder.
func newEncoder(t testing.TB) *use.Encoder {
	t.Helper()
	enc, err := use.New(use.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// newRunning returns a cache over st, running until the test ends.
func newRunning(t *testing.T, st Store, opts Options) *Cache {
	t.Helper()
	c := New(newLocal(t), st, opts, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	<-c.Ready()
	return c
}

var scopeA = NewScope("tenant-a", "auto", "", "general")

func lookup(t *testing.T, c *Cache, q Query) Result {
	t.Helper()
	r, err := c.Lookup(context.Background(), q)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", q.Text, err)
	}
	return r
}

// ask looks q up and, on a miss, stores answer; it returns the outcome.
func ask(t *testing.T, c *Cache, q Query, answer string) Result {
	t.Helper()
	r := lookup(t, c, q)
	if r.Outcome == Miss {
		if _, err := c.Put(context.Background(), r, Answer{Text: answer, Model: "bedrock_haiku", Usage: llm.Usage{PromptTokens: 5, CompletionTokens: 7}}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestWeek8 is the runbook's check: "What is Python?" misses, then "What
// is Python programming?" is served from the cache.
func TestWeek8(t *testing.T) {
	c := newRunning(t, NewMemoryStore(nil), Options{})
	if r := ask(t, c, Query{Scope: scopeA, Text: "What is Python?", SessionID: "s1"}, "A programming language."); r.Outcome != Miss {
		t.Fatalf("first lookup: %v; want miss", r.Outcome)
	}
	r := lookup(t, c, Query{Scope: scopeA, Text: "What is Python programming?", SessionID: "s2"})
	if r.Outcome != Hit || r.Entry.Answer != "A programming language." || r.Entry.Query != "What is Python?" {
		t.Fatalf("second lookup: %v %+v; want a hit on the first answer", r.Outcome, r.Entry)
	}
	if r := lookup(t, c, Query{Scope: scopeA, Text: "What is Java?"}); r.Outcome != Miss {
		t.Errorf("What is Java?: %v (similarity %.2f); want miss", r.Outcome, r.Similarity)
	}
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 2 || st.Entries != 1 || st.HitRate != 1.0/3 || st.HitSimilarity.Count != 1 || st.LookupSeconds.Count != 3 {
		t.Errorf("Stats = %+v; want 1 hit, 2 misses, 1 entry", st)
	}
}

func TestScopesDoNotMix(t *testing.T) {
	c := newRunning(t, NewMemoryStore(nil), Options{})
	ask(t, c, Query{Scope: scopeA, Text: "What is Python?"}, "A language.")
	for name, s := range map[string]Scope{
		"other tenant":        NewScope("tenant-b", "auto", "", "general"),
		"other model":         NewScope("tenant-a", "bedrock_sonnet", "", "general"),
		"other system prompt": NewScope("tenant-a", "auto", "Answer in French.", "general"),
		"other domain":        NewScope("tenant-a", "auto", "", "medical"),
	} {
		if r := lookup(t, c, Query{Scope: s, Text: "What is Python?"}); r.Outcome != Miss {
			t.Errorf("%s: %v; want miss", name, r.Outcome)
		}
	}
}

// TestNoCrossSessionLeak: a personal question answered in one session is
// never served to another session, however similar.
func TestNoCrossSessionLeak(t *testing.T) {
	c := newRunning(t, NewMemoryStore(nil), Options{})
	for _, text := range []string{"What is my name?", "What did I say above?", "Where do I live?", "Remind me of my password hint"} {
		r := ask(t, c, Query{Scope: scopeA, Text: text, SessionID: "alice"}, "Alice's private answer")
		if r.Outcome != Bypass {
			t.Errorf("%q in session alice: %v; want bypass", text, r.Outcome)
		}
		if r := lookup(t, c, Query{Scope: scopeA, Text: text, SessionID: "bob"}); r.Outcome == Hit {
			t.Errorf("%q in session bob: served %q", text, r.Entry.Answer)
		}
	}
	// Put refuses a bypassed result even if the caller tries.
	r := lookup(t, c, Query{Scope: scopeA, Text: "What is my name?", SessionID: "alice"})
	if e, err := c.Put(context.Background(), r, Answer{Text: "Alice"}); err != nil || e.ID != "" {
		t.Errorf("Put(bypass) = %+v, %v; want nothing stored", e, err)
	}
	if n := c.Stats().Entries; n != 0 {
		t.Errorf("%d entries stored; want 0", n)
	}
}

func TestBypassCounted(t *testing.T) {
	hot := 1.2
	c := newRunning(t, NewMemoryStore(nil), Options{MaxTemperature: 0.7})
	queries := []Query{
		{Scope: scopeA, Text: "What is Python?", Disabled: true},
		{Scope: scopeA, Text: "What is Python?", Temperature: &hot},
		{Scope: scopeA, Text: "What is Python?", Tools: true},
		{Scope: scopeA, Text: "What is Python?", SessionMemory: true},
		{Scope: scopeA, Text: "What is my name?"},
		{Scope: scopeA, Text: "What is my name?"},
	}
	for _, q := range queries {
		if r := lookup(t, c, q); r.Outcome != Bypass {
			t.Errorf("%+v: %v; want bypass", q, r.Outcome)
		}
	}
	st := c.Stats()
	want := map[Reason]uint64{ReasonDisabled: 1, ReasonTemperature: 1, ReasonTools: 1, ReasonSessionMemory: 1, ReasonPersonal: 2}
	for _, r := range Reasons {
		if st.BypassesByReason[r] != want[r] {
			t.Errorf("bypasses for %s = %d; want %d", r, st.BypassesByReason[r], want[r])
		}
	}
	if st.Bypasses != 6 || st.HitRate != 0 {
		t.Errorf("Bypasses = %d, HitRate = %v; want 6, 0", st.Bypasses, st.HitRate)
	}
}

func TestDisabledByOptions(t *testing.T) {
	c := newRunning(t, NewMemoryStore(nil), Options{Disabled: true})
	if r := lookup(t, c, Query{Scope: scopeA, Text: "What is Python?"}); r.Outcome != Bypass || r.Reason != ReasonDisabled {
		t.Errorf("lookup on a disabled cache: %v %v; want bypass disabled", r.Outcome, r.Reason)
	}
}

type failingEmbedder struct{}

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("embedder down")
}

func TestEmbedderFailureBypasses(t *testing.T) {
	c := New(failingEmbedder{}, NewMemoryStore(nil), Options{}, nil)
	r, err := c.Lookup(context.Background(), Query{Scope: scopeA, Text: "What is Python?"})
	if err == nil || r.Outcome != Bypass || r.Reason != ReasonError {
		t.Errorf("Lookup with a failing embedder = %v %v, %v; want bypass error and an error", r.Outcome, r.Reason, err)
	}
}

func TestTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRunning(t, NewMemoryStore(nil), Options{TTL: time.Hour})
		ask(t, c, Query{Scope: scopeA, Text: "What is Python?"}, "A language.")
		time.Sleep(59 * time.Minute)
		if r := lookup(t, c, Query{Scope: scopeA, Text: "What is Python?"}); r.Outcome != Hit {
			t.Errorf("after 59m: %v; want hit", r.Outcome)
		}
		time.Sleep(time.Minute)
		if r := lookup(t, c, Query{Scope: scopeA, Text: "What is Python?"}); r.Outcome != Miss {
			t.Errorf("after 60m: %v; want miss", r.Outcome)
		}
		time.Sleep(time.Minute) // the sweep drops it
		synctest.Wait()
		if n := c.Stats().Entries; n != 0 {
			t.Errorf("%d entries after the sweep; want 0", n)
		}
	})
}

func TestEvictsOldestFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newRunning(t, NewMemoryStore(nil), Options{MaxEntries: 2})
		for _, q := range []string{"What is Python?", "What is Java?", "What is Rust?"} {
			ask(t, c, Query{Scope: scopeA, Text: q}, "answer to "+q)
			time.Sleep(time.Second)
		}
		want := map[string]Outcome{"What is Python?": Miss, "What is Java?": Hit, "What is Rust?": Hit}
		for q, o := range want {
			if r := lookup(t, c, Query{Scope: scopeA, Text: q}); r.Outcome != o {
				t.Errorf("%s: %v; want %v", q, r.Outcome, o)
			}
		}
	})
}

func TestDeleteSessionAndPurge(t *testing.T) {
	st := NewMemoryStore(nil)
	c := newRunning(t, st, Options{})
	other := NewScope("tenant-b", "bedrock_sonnet", "", "general")
	ask(t, c, Query{Scope: scopeA, Text: "What is Python?", SessionID: "s1"}, "A language.")
	ask(t, c, Query{Scope: scopeA, Text: "What is Rust?", SessionID: "s2"}, "A language.")
	ask(t, c, Query{Scope: other, Text: "What is Go?", SessionID: "s1"}, "A language.")
	// Session ids are per tenant: deleting tenant-a's s1 leaves
	// tenant-b's s1 alone.
	if err := c.DeleteSession(context.Background(), scopeA.Tenant, "s1"); err != nil {
		t.Fatal(err)
	}
	for q, o := range map[Query]Outcome{
		{Scope: scopeA, Text: "What is Python?"}: Miss,
		{Scope: other, Text: "What is Go?"}:      Hit,
		{Scope: scopeA, Text: "What is Rust?"}:   Hit,
	} {
		if r := lookup(t, c, q); r.Outcome != o {
			t.Errorf("after deleting s1, %q: %v; want %v", q.Text, r.Outcome, o)
		}
	}
	if n, err := c.Purge(context.Background(), Filter{Tenant: "tenant-a"}); err != nil || n != 1 {
		t.Errorf("Purge(tenant-a) = %d, %v; want 1", n, err)
	}
	if r := lookup(t, c, Query{Scope: scopeA, Text: "What is Rust?"}); r.Outcome != Miss {
		t.Errorf("after purging tenant-a: %v; want miss", r.Outcome)
	}
	if _, err := c.Purge(context.Background(), Filter{}); !errors.Is(err, ErrEmptyFilter) {
		t.Errorf("Purge(empty) = %v; want ErrEmptyFilter", err)
	}
}

// TestReplicas: two replicas share a store; an entry one writes is found
// by the other within a second, a warm start loads what is there, and a
// deletion on one reaches the other.
func TestReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := NewMemoryStore(nil)
		a := newRunning(t, st, Options{})
		b := newRunning(t, st, Options{})
		ask(t, a, Query{Scope: scopeA, Text: "What is Python?", SessionID: "s1"}, "A language.")
		time.Sleep(time.Second)
		synctest.Wait()
		if r := lookup(t, b, Query{Scope: scopeA, Text: "What is Python programming?"}); r.Outcome != Hit {
			t.Fatalf("replica b: %v; want hit", r.Outcome)
		}
		late := newRunning(t, st, Options{}) // warm start
		if r := lookup(t, late, Query{Scope: scopeA, Text: "What is Python?"}); r.Outcome != Hit {
			t.Errorf("replica started later: %v; want hit", r.Outcome)
		}
		if err := a.DeleteSession(context.Background(), scopeA.Tenant, "s1"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		for name, c := range map[string]*Cache{"b": b, "late": late} {
			if r := lookup(t, c, Query{Scope: scopeA, Text: "What is Python?"}); r.Outcome != Miss {
				t.Errorf("replica %s after the session was deleted: %v; want miss", name, r.Outcome)
			}
		}
	})
}

func TestConcurrentLookups(t *testing.T) {
	c := newRunning(t, NewMemoryStore(nil), Options{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				ask(t, c, Query{Scope: scopeA, Text: fmt.Sprintf("What is item %d?", (i*7+g)%20)}, "x")
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Hits+st.Misses != 200 {
		t.Errorf("%d lookups counted; want 200", st.Hits+st.Misses)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Hit: "hit", Miss: "miss", Bypass: "bypass", Outcome(9): "unknown"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q; want %q", int(o), got, want)
		}
	}
}

// BenchmarkLookup measures a whole lookup with the local embedder (embed,
// search, gate) in a scope of 10,000 entries, hits and misses alternating.
// The scope's graph is grown entry by entry (ExactBelow -1), so that it is
// complete when timing starts.
func BenchmarkLookup(b *testing.B) {
	c := New(newLocal(b), NewMemoryStore(nil), Options{Index: vectorindex.Options{ExactBelow: -1}}, nil)
	ctx := context.Background()
	for i := range 10_000 {
		r, err := c.Lookup(ctx, Query{Scope: scopeA, Text: fmt.Sprintf("What is the meaning of entry %d in the catalogue?", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Put(ctx, r, Answer{Text: "x"}); err != nil {
			b.Fatal(err)
		}
	}
	qs := []string{"What is the meaning of entry 42 in the catalogue?", "How do I bake sourdough bread?"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := c.Lookup(ctx, Query{Scope: scopeA, Text: qs[i%2]}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// closingFeedStore is a MemoryStore whose change feed fails at once, and
// which remembers the context of each Watch.
type closingFeedStore struct {
	*MemoryStore
	mu   sync.Mutex // guards subs
	subs []context.Context
}

func (s *closingFeedStore) Watch(ctx context.Context) (<-chan Change, error) {
	s.mu.Lock()
	s.subs = append(s.subs, ctx)
	s.mu.Unlock()
	ch := make(chan Change)
	close(ch)
	return ch, nil
}

// TestRunEndsFailedSubscriptions: each time the feed fails, Run ends the
// subscription's context before subscribing again, so that what a store
// keeps per watcher does not pile up until shutdown.
func TestRunEndsFailedSubscriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &closingFeedStore{MemoryStore: NewMemoryStore(nil)}
		c := New(nil, st, Options{}, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		st.mu.Lock()
		subs := slices.Clone(st.subs)
		st.mu.Unlock()
		if len(subs) < 3 {
			t.Fatalf("Run subscribed %d times in 3.5s of failing feeds; want at least 3", len(subs))
		}
		for i, sub := range subs {
			if sub.Err() == nil {
				t.Errorf("subscription %d of %d still open after its feed closed", i+1, len(subs))
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestExactRepeatNotEmbedded checks that a question asked again word for
// word in the same scope is served from the exact map without embedding,
// that another scope or an expired entry does not take that path, and that
// a deleted entry leaves it.
func TestExactRepeatNotEmbedded(t *testing.T) {
	now := time.Now()
	emb := &countingEmbedder{embedder: newLocal(t)}
	c := New(emb, NewMemoryStore(nil), Options{TTL: time.Hour, Now: func() time.Time { return now }}, nil)
	q := Query{Scope: scopeA, Text: "What is Kafka?"}
	ask(t, c, q, "A log.")
	if n := emb.texts.Load(); n != 1 {
		t.Fatalf("%d texts embedded for the first ask; want 1", n)
	}
	r := lookup(t, c, q)
	if r.Outcome != Hit || r.Similarity != 1 || r.Entry.Answer != "A log." {
		t.Errorf("exact repeat = %v (similarity %v); want a hit with similarity 1", r.Outcome, r.Similarity)
	}
	if n := emb.texts.Load(); n != 1 {
		t.Errorf("%d texts embedded after an exact repeat; want 1", n)
	}
	if r := lookup(t, c, Query{Scope: NewScope("tenant-b", "auto", "", "general"), Text: q.Text}); r.Outcome != Miss {
		t.Errorf("same text in another scope = %v; want miss", r.Outcome)
	}
	now = now.Add(2 * time.Hour)
	if r := lookup(t, c, q); r.Outcome != Miss {
		t.Errorf("exact repeat after the TTL = %v; want miss", r.Outcome)
	}
	c.sweep()
	c.mu.RLock()
	n := len(c.exact)
	c.mu.RUnlock()
	if n != 0 {
		t.Errorf("exact map holds %d entries after the sweep; want 0", n)
	}
}
