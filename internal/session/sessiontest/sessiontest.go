// Package sessiontest is the conformance suite every session.Store
// implementation passes: ordering, concurrent appends, expiry, tenant
// isolation, folding without loss, deletion. Backends call Run from their
// tests; it is test support and only test files import it.
package sessiontest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
)

// OpenFunc returns a store built with opts, for one test. Stores opened by
// different tests may share a backend (one Redis, one database): the suite
// gives every test its own tenants, and only ever moves clocks forward of
// the real time by less than the TTL of other tests (see ttl).
type OpenFunc func(t *testing.T, opts session.StoreOptions) session.Store

// ttl is the TTL of the expiry test and sweepTTL that of the sweep test.
// Their fake clocks run ahead of real time by about their TTL, and a sweep
// deletes every session whose expiry its clock has passed, whichever test
// wrote it: so sweepTTL stays well under ttl, and ttl well under
// session.DefaultTTL, which the other tests use.
const (
	ttl      = time.Minute
	sweepTTL = 10 * time.Second
)

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		f    func(*testing.T, OpenFunc)
	}{
		{"LoadMissing", testLoadMissing},
		{"AppendOrder", testAppendOrder},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Expiry", testExpiry},
		{"Sweep", testSweep},
		{"TenantIsolation", testTenantIsolation},
		{"Fold", testFold},
		{"FoldWhileAppending", testFoldWhileAppending},
		{"ConcurrentFolds", testConcurrentFolds},
		{"Delete", testDelete},
		{"InvalidKey", testInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f(t, open)
		})
	}
}

// clock is a fake clock that starts at the real time and moves only when
// told. It is safe for concurrent use.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tenant returns a tenant name no other test uses, with characters that
// a careless key scheme would mix up.
func tenant(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t:" + hex.EncodeToString(b) + "/é"
}

func turn(role, content string, at time.Time) session.Turn {
	return session.Turn{Role: role, Content: content, Model: "m-" + role, Tokens: len(content), At: at}
}

// timeEqual compares instants, whatever their location.
var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func mustLoad(t *testing.T, s session.Store, k session.Key) *session.Session {
	t.Helper()
	got, err := s.Load(context.Background(), k)
	if err != nil {
		t.Fatalf("Load(%v): %v", k, err)
	}
	return got
}

func mustAppend(t *testing.T, s session.Store, k session.Key, turns ...session.Turn) {
	t.Helper()
	if err := s.Append(context.Background(), k, turns...); err != nil {
		t.Fatalf("Append(%v): %v", k, err)
	}
}

func testLoadMissing(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	_, err := s.Load(context.Background(), session.Key{Tenant: tenant(t), ID: "missing"})
	if !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load(missing) error = %v; want ErrNotFound", err)
	}
}

func testAppendOrder(t *testing.T, open OpenFunc) {
	clk := newClock()
	s := open(t, session.StoreOptions{Now: clk.Now})
	k := session.Key{Tenant: tenant(t), ID: "order: ✓ {1}"}
	t0 := clk.Now()
	mustAppend(t, s, k,
		turn(llm.RoleUser, "My name is Alice.", t0),
		turn(llm.RoleAssistant, "Hello Alice!", t0.Add(time.Second)))
	clk.Advance(time.Minute)
	t1 := clk.Now()
	mustAppend(t, s, k,
		session.Turn{Seq: 99, Role: llm.RoleUser, Content: "What is my name?\n\"quoted\" | pipes", At: t1},
		turn(llm.RoleAssistant, "Alice.", t1))
	mustAppend(t, s, k) // no turns: nothing happens
	got := mustLoad(t, s, k)
	want := &session.Session{
		Key: k,
		Turns: []session.Turn{
			{Seq: 1, Role: llm.RoleUser, Content: "My name is Alice.", Model: "m-user", Tokens: 17, At: t0},
			{Seq: 2, Role: llm.RoleAssistant, Content: "Hello Alice!", Model: "m-assistant", Tokens: 12, At: t0.Add(time.Second)},
			{Seq: 3, Role: llm.RoleUser, Content: "What is my name?\n\"quoted\" | pipes", At: t1},
			{Seq: 4, Role: llm.RoleAssistant, Content: "Alice.", Model: "m-assistant", Tokens: 6, At: t1},
		},
		UpdatedAt: t1,
	}
	if diff := cmp.Diff(want, got, timeEqual); diff != "" {
		t.Errorf("Load after appends (-want +got):\n%s", diff)
	}
	if got.LastSeq() != 4 {
		t.Errorf("LastSeq() = %d; want 4", got.LastSeq())
	}
}

// testConcurrentAppends appends pairs of turns from many goroutines at once
// to one session: every pair is kept, contiguous, and each goroutine's pairs
// in the order it sent them.
func testConcurrentAppends(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	k := session.Key{Tenant: tenant(t), ID: "busy"}
	const writers, pairs = 12, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*pairs)
	for w := range writers {
		wg.Go(func() {
			for p := range pairs {
				q := fmt.Sprintf("w%d q%d", w, p)
				err := s.Append(context.Background(), k,
					turn(llm.RoleUser, q, time.Now()), turn(llm.RoleAssistant, "re "+q, time.Now()))
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Append: %v", err)
	}
	got := mustLoad(t, s, k)
	if len(got.Turns) != 2*writers*pairs {
		t.Fatalf("Load: %d turns; want %d", len(got.Turns), 2*writers*pairs)
	}
	next := make([]int, writers) // next pair expected from each writer
	for i := 0; i < len(got.Turns); i += 2 {
		u, a := got.Turns[i], got.Turns[i+1]
		if u.Seq != int64(i+1) || a.Seq != int64(i+2) {
			t.Fatalf("turns %d, %d have Seq %d, %d; want %d, %d", i, i+1, u.Seq, a.Seq, i+1, i+2)
		}
		var w, p int
		if _, err := fmt.Sscanf(u.Content, "w%d q%d", &w, &p); err != nil || u.Role != llm.RoleUser {
			t.Fatalf("turn %d = %s %q; want a user question", i, u.Role, u.Content)
		}
		if a.Content != "re "+u.Content {
			t.Fatalf("turn %d = %q follows %q; want its answer", i+1, a.Content, u.Content)
		}
		if p != next[w] {
			t.Fatalf("writer %d: pair %d came where pair %d was due", w, p, next[w])
		}
		next[w]++
	}
}

func testExpiry(t *testing.T, open OpenFunc) {
	clk := newClock()
	s := open(t, session.StoreOptions{TTL: ttl, Now: clk.Now})
	k := session.Key{Tenant: tenant(t), ID: "short"}
	mustAppend(t, s, k, turn(llm.RoleUser, "one", clk.Now()))
	clk.Advance(ttl - time.Second)
	mustLoad(t, s, k)
	mustAppend(t, s, k, turn(llm.RoleUser, "two", clk.Now())) // refreshes the expiry
	clk.Advance(ttl - time.Second)
	if got := mustLoad(t, s, k); len(got.Turns) != 2 {
		t.Fatalf("after refresh: %d turns; want 2", len(got.Turns))
	}
	clk.Advance(2 * time.Second)
	if _, err := s.Load(context.Background(), k); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after TTL: error = %v; want ErrNotFound", err)
	}
	if err := s.Fold(context.Background(), k, session.Fold{Through: 1, Summary: "x"}); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Fold after TTL: error = %v; want ErrNotFound", err)
	}
	// An Append to an expired session starts a new one.
	mustAppend(t, s, k, turn(llm.RoleUser, "three", clk.Now()))
	got := mustLoad(t, s, k)
	if len(got.Turns) != 1 || got.Turns[0].Content != "three" || got.Turns[0].Seq != 1 || got.Summary != "" {
		t.Fatalf("after expiry and Append: %+v; want a new session holding turn 1 \"three\"", got)
	}
}

func testSweep(t *testing.T, open OpenFunc) {
	clk := newClock()
	s := open(t, session.StoreOptions{TTL: sweepTTL, Now: clk.Now})
	sw, ok := s.(session.Sweeper)
	if !ok {
		t.Log("the store expires sessions by itself: nothing to sweep")
		return
	}
	ten := tenant(t)
	old, fresh := session.Key{Tenant: ten, ID: "old"}, session.Key{Tenant: ten, ID: "fresh"}
	mustAppend(t, s, old, turn(llm.RoleUser, "a", clk.Now()))
	clk.Advance(sweepTTL / 2)
	mustAppend(t, s, fresh, turn(llm.RoleUser, "b", clk.Now()))
	clk.Advance(sweepTTL/2 + time.Second)
	n, err := sw.Sweep(context.Background())
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n < 1 {
		t.Errorf("Sweep() = %d; want at least 1", n)
	}
	mustLoad(t, s, fresh)
	// The expired session is gone for good, not merely hidden.
	clk.Advance(-sweepTTL)
	if _, err := s.Load(context.Background(), old); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Load(swept) error = %v; want ErrNotFound", err)
	}
}

func testTenantIsolation(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	base := tenant(t)
	// Keys that a scheme joining tenant and id with a separator would mix up.
	keys := []session.Key{
		{Tenant: base + "a", ID: "s"},
		{Tenant: base + "b", ID: "s"},
		{Tenant: base + "a:b", ID: "c"},
		{Tenant: base + "a", ID: "b:c"},
		{Tenant: base + "a}", ID: "{c"},
		{Tenant: base + "a/b", ID: "c"},
		{Tenant: base + "a", ID: "b/c"},
	}
	for i, k := range keys {
		mustAppend(t, s, k, turn(llm.RoleUser, fmt.Sprint("secret ", i), time.Now()))
	}
	for i, k := range keys {
		got := mustLoad(t, s, k)
		if len(got.Turns) != 1 || got.Turns[0].Content != fmt.Sprint("secret ", i) {
			t.Errorf("Load(%q) = %+v; want only its own turn", k, got.Turns)
		}
	}
	if err := s.Delete(context.Background(), keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), keys[1]); err != nil {
		t.Errorf("deleting tenant a's session s deleted tenant b's: %v", err)
	}
	if _, err := s.Load(context.Background(), session.Key{Tenant: base, ID: "s"}); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Load of another tenant's session id: error = %v; want ErrNotFound", err)
	}
}

func testFold(t *testing.T, open OpenFunc) {
	clk := newClock()
	s := open(t, session.StoreOptions{Now: clk.Now})
	ctx := context.Background()
	k := session.Key{Tenant: tenant(t), ID: "fold"}
	for i := range 6 {
		mustAppend(t, s, k, turn(llm.RoleUser, fmt.Sprint("t", i+1), clk.Now()))
	}
	if err := s.Fold(ctx, k, session.Fold{From: 0, Through: 4, Summary: "S1"}); err != nil {
		t.Fatalf("Fold: %v", err)
	}
	got := mustLoad(t, s, k)
	if got.Summary != "S1" || got.SummaryThrough != 4 || len(got.Turns) != 2 || got.Turns[0].Seq != 5 || got.Turns[1].Seq != 6 {
		t.Fatalf("after Fold through 4: %+v; want summary S1 through 4 and turns 5, 6", got)
	}
	if err := s.Fold(ctx, k, session.Fold{From: 0, Through: 5, Summary: "stale"}); !errors.Is(err, session.ErrConflict) {
		t.Errorf("Fold from a stale summary: error = %v; want ErrConflict", err)
	}
	for _, through := range []int64{4, 7} {
		if err := s.Fold(ctx, k, session.Fold{From: 4, Through: through, Summary: "bad"}); err == nil {
			t.Errorf("Fold from 4 through %d succeeded; want an error", through)
		}
	}
	if err := s.Fold(ctx, k, session.Fold{From: 4, Through: 6, Summary: "S2"}); err != nil {
		t.Fatalf("Fold of every turn: %v", err)
	}
	got = mustLoad(t, s, k)
	if got.Summary != "S2" || got.SummaryThrough != 6 || len(got.Turns) != 0 || got.LastSeq() != 6 {
		t.Fatalf("after Fold through 6: %+v; want summary S2 through 6 and no turns", got)
	}
	mustAppend(t, s, k, turn(llm.RoleUser, "t7", clk.Now()))
	got = mustLoad(t, s, k)
	if len(got.Turns) != 1 || got.Turns[0].Seq != 7 || got.Summary != "S2" {
		t.Fatalf("Append after folding everything: %+v; want turn 7 after summary S2", got)
	}
	if _, err := s.Load(ctx, session.Key{Tenant: tenant(t), ID: "fold"}); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Load from another tenant: %v; want ErrNotFound", err)
	}
	if err := s.Fold(ctx, session.Key{Tenant: tenant(t), ID: "fold"}, session.Fold{Through: 1}); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Fold of a missing session: %v; want ErrNotFound", err)
	}
}

// testFoldWhileAppending folds repeatedly while writers append: every turn
// ends up either folded or stored, none twice, none lost.
func testFoldWhileAppending(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	ctx := context.Background()
	k := session.Key{Tenant: tenant(t), ID: "fold-race"}
	mustAppend(t, s, k, turn(llm.RoleUser, "first", time.Now()))
	const writers, each = 4, 15
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Append(ctx, k, turn(llm.RoleUser, fmt.Sprintf("w%d-%d", w, i), time.Now())); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	folds := 0
	stop := make(chan struct{})
	var folder sync.WaitGroup
	folder.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			cur, err := s.Load(ctx, k)
			if err != nil {
				t.Errorf("Load: %v", err)
				return
			}
			if len(cur.Turns) < 2 {
				continue
			}
			// The summary lists the Seqs it covers, to check them at the end.
			var sum strings.Builder
			sum.WriteString(cur.Summary)
			for _, tu := range cur.Turns[:len(cur.Turns)-1] {
				fmt.Fprintf(&sum, "%d;", tu.Seq)
			}
			err = s.Fold(ctx, k, session.Fold{From: cur.SummaryThrough, Through: cur.Turns[len(cur.Turns)-2].Seq, Summary: sum.String()})
			if err != nil {
				t.Errorf("Fold: %v", err)
				return
			}
			folds++
		}
	})
	wg.Wait()
	close(stop)
	folder.Wait()
	got := mustLoad(t, s, k)
	var seqs []int64
	for _, f := range strings.Split(strings.TrimSuffix(got.Summary, ";"), ";") {
		if f == "" {
			continue
		}
		var n int64
		fmt.Sscan(f, &n)
		seqs = append(seqs, n)
	}
	if len(seqs) > 0 && seqs[len(seqs)-1] != got.SummaryThrough {
		t.Errorf("summary ends at %d; SummaryThrough = %d", seqs[len(seqs)-1], got.SummaryThrough)
	}
	for _, tu := range got.Turns {
		seqs = append(seqs, tu.Seq)
	}
	const total = 1 + writers*each
	if len(seqs) != total {
		t.Fatalf("%d turns folded or stored; want %d (folds: %d)", len(seqs), total, folds)
	}
	for i, n := range seqs {
		if n != int64(i+1) {
			t.Fatalf("turn %d has Seq %d; want %d", i, n, i+1)
		}
	}
	if folds == 0 {
		t.Log("no fold ran while appending")
	}
}

// testConcurrentFolds runs two folds built from the same load: one wins,
// the other gets ErrConflict.
func testConcurrentFolds(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	ctx := context.Background()
	k := session.Key{Tenant: tenant(t), ID: "two-folders"}
	for i := range 4 {
		mustAppend(t, s, k, turn(llm.RoleUser, fmt.Sprint(i), time.Now()))
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Fold(ctx, k, session.Fold{From: 0, Through: int64(2 + i), Summary: fmt.Sprint("S", i)})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, session.ErrConflict):
			t.Errorf("Fold: %v; want nil or ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d folds won; want exactly 1 (errors %v)", won, errs)
	}
	got := mustLoad(t, s, k)
	if want := got.SummaryThrough + 1; len(got.Turns) == 0 || got.Turns[0].Seq != want || got.LastSeq() != 4 {
		t.Errorf("after racing folds: %+v", got)
	}
}

func testDelete(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	ctx := context.Background()
	k := session.Key{Tenant: tenant(t), ID: "gone"}
	mustAppend(t, s, k, turn(llm.RoleUser, "a", time.Now()), turn(llm.RoleAssistant, "b", time.Now()))
	if err := s.Fold(ctx, k, session.Fold{Through: 1, Summary: "S"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Load(ctx, k); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after Delete: error = %v; want ErrNotFound", err)
	}
	if err := s.Delete(ctx, k); err != nil {
		t.Errorf("Delete of a missing session: %v; want nil", err)
	}
	mustAppend(t, s, k, turn(llm.RoleUser, "again", time.Now()))
	got := mustLoad(t, s, k)
	if len(got.Turns) != 1 || got.Turns[0].Seq != 1 || got.Summary != "" || got.SummaryThrough != 0 {
		t.Errorf("Append after Delete: %+v; want a new session", got)
	}
}

func testInvalidKey(t *testing.T, open OpenFunc) {
	s := open(t, session.StoreOptions{})
	ctx := context.Background()
	for _, k := range []session.Key{
		{Tenant: "t", ID: ""},
		{Tenant: "t", ID: "nul\x00"},
		{Tenant: "t\n", ID: "x"},
		{Tenant: "t", ID: strings.Repeat("x", session.MaxKeyLen+1)},
	} {
		if err := s.Append(ctx, k, turn(llm.RoleUser, "x", time.Now())); !errors.Is(err, session.ErrInvalidKey) {
			t.Errorf("Append(%q) error = %v; want ErrInvalidKey", k, err)
		}
		if _, err := s.Load(ctx, k); !errors.Is(err, session.ErrInvalidKey) {
			t.Errorf("Load(%q) error = %v; want ErrInvalidKey", k, err)
		}
	}
}
