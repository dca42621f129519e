// Package cachetest is the conformance suite of cache.Store: every backend
// (internal/store/*) runs it, so that the cache behaves the same on each.
// It is imported by tests only.
package cachetest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
)

// feedDeadline is how soon a change must reach a watcher.
const feedDeadline = time.Second

// Run runs the suite. open returns an empty store private to the test (its
// own key prefix, schema or file) and arranges its cleanup.
func Run(t *testing.T, open func(t *testing.T) cache.Store) {
	t.Run("PutList", func(t *testing.T) { testPutList(t, open(t)) })
	t.Run("PutReplaces", func(t *testing.T) { testPutReplaces(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("DeleteBySession", func(t *testing.T) { testDeleteBySession(t, open(t)) })
	t.Run("Purge", func(t *testing.T) { testPurge(t, open(t)) })
	t.Run("ListSkipsExpired", func(t *testing.T) { testListSkipsExpired(t, open(t)) })
	t.Run("ListStopsOnError", func(t *testing.T) { testListStopsOnError(t, open(t)) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, open(t), nil) })
	t.Run("WatchClosesOnCancel", func(t *testing.T) { testWatchCloses(t, open(t)) })
	t.Run("WarmStartEvicts", func(t *testing.T) { testWarmStartEvicts(t, open(t)) })
}

// RunReplicas checks that a change made through one handle reaches a
// watcher of another handle on the same data (two replicas) within a
// second. open returns two such handles.
func RunReplicas(t *testing.T, open func(t *testing.T) (first, second cache.Store)) {
	t.Run("WatchAcrossReplicas", func(t *testing.T) {
		a, b := open(t)
		testWatch(t, b, a)
	})
	t.Run("ListAcrossReplicas", func(t *testing.T) {
		a, b := open(t)
		ctx := context.Background()
		e := NewEntry("x1", "tenant-a", "bedrock_haiku", "s1")
		if err := a.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
		got := list(t, b)
		if diff := cmp.Diff([]cache.Entry{e}, got, entryCmp...); diff != "" {
			t.Errorf("List on the second replica (-want +got):\n%s", diff)
		}
	})
}

// entryCmp compares entries as a store may round-trip them: times to the
// millisecond, whatever their location; nil and empty vectors alike.
var entryCmp = []cmp.Option{cmpopts.EquateApproxTime(time.Millisecond), cmpopts.EquateEmpty()}

// NewEntry returns a complete entry, live for an hour.
func NewEntry(id, tenant, model, session string) cache.Entry {
	now := time.Now().Truncate(time.Millisecond)
	return cache.Entry{
		ID:    id,
		Scope: cache.Scope{Tenant: tenant, Model: model, System: cache.SystemHash("be brief"), Domain: "general"},
		Query: "What is Python? " + id, Answer: "A programming language.", Model: model + "-answered",
		Usage:     llm.Usage{PromptTokens: 12, CompletionTokens: 5},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), SessionID: session,
		Vector: []float32{0.25, -0.5, 0.75, 1e-7, -3.5e3},
	}
}

func list(t *testing.T, s cache.Store) []cache.Entry {
	t.Helper()
	var out []cache.Entry
	if err := s.List(context.Background(), func(e cache.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func ids(es []cache.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func put(t *testing.T, s cache.Store, es ...cache.Entry) {
	t.Helper()
	for _, e := range es {
		if err := s.Put(context.Background(), e); err != nil {
			t.Fatalf("Put(%s): %v", e.ID, err)
		}
	}
}

func testPutList(t *testing.T, s cache.Store) {
	if got := list(t, s); len(got) != 0 {
		t.Fatalf("a new store lists %d entries", len(got))
	}
	want := []cache.Entry{NewEntry("a", "t1", "m1", "s1"), NewEntry("b", "t1", "m2", ""), NewEntry("c", "t2", "m1", "s2")}
	want[1].Scope.System = ""
	want[2].Query = "unicode ✓ and \"quotes\"\n"
	put(t, s, want...)
	if diff := cmp.Diff(want, list(t, s), entryCmp...); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func testPutReplaces(t *testing.T, s cache.Store) {
	e := NewEntry("a", "t1", "m1", "s1")
	put(t, s, e)
	e.Answer, e.SessionID = "changed", "s2"
	put(t, s, e)
	if diff := cmp.Diff([]cache.Entry{e}, list(t, s), entryCmp...); diff != "" {
		t.Errorf("List after replacing (-want +got):\n%s", diff)
	}
	// The old session no longer owns it.
	if got, err := s.DeleteBySession(context.Background(), "t1", "s1"); err != nil || len(got) != 0 {
		t.Errorf("DeleteBySession(old session) = %v, %v; want nothing", got, err)
	}
}

func testDelete(t *testing.T, s cache.Store) {
	put(t, s, NewEntry("a", "t", "m", ""), NewEntry("b", "t", "m", ""), NewEntry("c", "t", "m", ""))
	if err := s.Delete(context.Background(), "a", "c", "unknown"); err != nil {
		t.Fatal(err)
	}
	if got := ids(list(t, s)); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after Delete(a, c): %v; want [b]", got)
	}
}

func testDeleteBySession(t *testing.T, s cache.Store) {
	put(t, s, NewEntry("a", "t", "m", "s1"), NewEntry("b", "t", "m", "s2"), NewEntry("c", "t2", "m", "s1"), NewEntry("d", "t", "m", ""))
	// Session ids are per tenant: t's s1 is not t2's s1.
	got, err := s.DeleteBySession(context.Background(), "t", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"a"}) {
		t.Errorf("DeleteBySession(t, s1) = %v; want [a]", got)
	}
	if got := ids(list(t, s)); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("left %v; want [b c d]", got)
	}
	if got, err := s.DeleteBySession(context.Background(), "t2", "s1"); err != nil || !slices.Equal(got, []string{"c"}) {
		t.Errorf("DeleteBySession(t2, s1) = %v, %v; want [c]", got, err)
	}
	if got, err := s.DeleteBySession(context.Background(), "t", ""); err != nil || len(got) != 0 {
		t.Errorf("DeleteBySession(\"\") = %v, %v; want nothing (entries without a session stay)", got, err)
	}
}

func testPurge(t *testing.T, s cache.Store) {
	ctx := context.Background()
	put(t, s, NewEntry("a", "t1", "m1", ""), NewEntry("b", "t1", "m2", ""), NewEntry("c", "t2", "m1", ""), NewEntry("d", "t2", "m2", ""))
	if _, err := s.Purge(ctx, cache.Filter{}); !errors.Is(err, cache.ErrEmptyFilter) {
		t.Errorf("Purge(empty filter) = %v; want ErrEmptyFilter", err)
	}
	steps := []struct {
		f    cache.Filter
		n    int
		left []string
	}{
		{cache.Filter{Tenant: "t1", Model: "m1"}, 1, []string{"b", "c", "d"}},
		{cache.Filter{Model: "m2-answered"}, 2, []string{"c"}}, // the answering model counts too
		{cache.Filter{Tenant: "t2"}, 1, nil},
		{cache.Filter{Tenant: "t9"}, 0, nil},
	}
	for _, st := range steps {
		n, err := s.Purge(ctx, st.f)
		if err != nil || n != st.n {
			t.Errorf("Purge(%+v) = %d, %v; want %d", st.f, n, err, st.n)
		}
		if got := ids(list(t, s)); !cmp.Equal(got, st.left, cmpopts.EquateEmpty()) {
			t.Errorf("after Purge(%+v): %v; want %v", st.f, got, st.left)
		}
	}
}

func testListSkipsExpired(t *testing.T, s cache.Store) {
	old := NewEntry("old", "t", "m", "")
	old.CreatedAt = time.Now().Add(-2 * time.Hour)
	old.ExpiresAt = time.Now().Add(-time.Hour)
	put(t, s, old, NewEntry("new", "t", "m", ""))
	if got := ids(list(t, s)); !slices.Equal(got, []string{"new"}) {
		t.Errorf("List = %v; want [new] (old has expired)", got)
	}
}

func testListStopsOnError(t *testing.T, s cache.Store) {
	put(t, s, NewEntry("a", "t", "m", ""), NewEntry("b", "t", "m", ""))
	stop := errors.New("stop")
	calls := 0
	err := s.List(context.Background(), func(cache.Entry) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing fn: %v after %d calls; want stop after 1", err, calls)
	}
}

// testWatch subscribes on s and changes through writer (s itself when nil).
func testWatch(t *testing.T, s, writer cache.Store) {
	if writer == nil {
		writer = s
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next := func(what string) cache.Change {
		t.Helper()
		select {
		case c, ok := <-feed:
			if !ok {
				t.Fatalf("%s: feed closed", what)
			}
			return c
		case <-time.After(feedDeadline):
			t.Fatalf("%s: no change within %v", what, feedDeadline)
		}
		return cache.Change{}
	}
	e := NewEntry("w1", "t1", "m1", "s1")
	put(t, writer, e)
	if diff := cmp.Diff(cache.Change{Op: cache.OpPut, Entry: e}, next("Put"), entryCmp...); diff != "" {
		t.Errorf("change after Put (-want +got):\n%s", diff)
	}
	put(t, writer, NewEntry("w2", "t1", "m1", "s2"))
	next("second Put")
	if err := writer.Delete(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	if c := next("Delete"); c.Op != cache.OpDelete || !slices.Equal(c.IDs, []string{"w2"}) {
		t.Errorf("change after Delete(w2) = %+v; want OpDelete [w2]", c)
	}
	if _, err := writer.DeleteBySession(ctx, "t1", "s1"); err != nil {
		t.Fatal(err)
	}
	if c := next("DeleteBySession"); c.Op != cache.OpDelete || !slices.Equal(c.IDs, []string{"w1"}) {
		t.Errorf("change after DeleteBySession(s1) = %+v; want OpDelete [w1]", c)
	}
	f := cache.Filter{Tenant: "t1"}
	if _, err := writer.Purge(ctx, f); err != nil {
		t.Fatal(err)
	}
	if c := next("Purge"); c.Op != cache.OpPurge || c.Filter != f {
		t.Errorf("change after Purge = %+v; want OpPurge %+v", c, f)
	}
}

// testWarmStartEvicts: a cache whose limits hold fewer entries than the
// store loads the newest ones and deletes the others from the store, as
// after a restart with a store that outgrew them. The cache's one eviction
// mechanism runs on this store's List and Delete.
func testWarmStartEvicts(t *testing.T, s cache.Store) {
	start := time.Now().Truncate(time.Millisecond)
	var want []string
	for i := range 10 {
		e := NewEntry(fmt.Sprintf("w%02d", i), "tenant-a", "auto", "")
		e.CreatedAt = start.Add(time.Duration(i) * time.Second)
		put(t, s, e)
		if i >= 7 {
			want = append(want, e.ID)
		}
	}
	c := cache.New(nil, s, cache.Options{MaxEntries: 3}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	<-c.Ready()
	if st := c.Stats(); st.Entries != 3 || st.Evictions != 7 {
		t.Errorf("after the warm start: %d entries, %d evictions; want 3, 7", st.Entries, st.Evictions)
	}
	if got := ids(list(t, s)); !slices.Equal(got, want) {
		t.Errorf("the store holds %v after the warm start; want the newest %v", got, want)
	}
}

func testWatchCloses(t *testing.T, s cache.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.After(feedDeadline)
	for {
		select {
		case _, ok := <-feed:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal(fmt.Sprintf("feed still open %v after its context was cancelled", feedDeadline))
		}
	}
}
