// Package feedbacktest is the conformance suite every feedback.Store
// implementation passes: remembering answers, rating them once per user,
// replacing a rating without counting it twice, expiry, tenant isolation
// and counting by time. Backends call Run from their tests; it is test
// support and only test files import it.
package feedbacktest

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

	"github.com/cato-gateway/cato/internal/feedback"
)

// OpenFunc returns a store built with opts, for one test. Stores opened by
// different tests may share a backend (one Redis, one database): the suite
// gives every test its own tenants and model names, counts only its own
// models, and moves clocks ahead of real time by minutes only.
type OpenFunc func(t *testing.T, opts feedback.StoreOptions) feedback.Store

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		f    func(*testing.T, OpenFunc)
		// serial tests run alone: Sweep deletes every tenant's expired
		// answers, so with its clock moved ahead it would sweep the
		// answers of a test running beside it on the same backend.
		serial bool
	}{
		{"RateUnknown", testRateUnknown, false},
		{"RememberAndRate", testRememberAndRate, false},
		{"ReplaceCountsOnce", testReplaceCountsOnce, false},
		{"ConcurrentRatings", testConcurrentRatings, false},
		{"TenantIsolation", testTenantIsolation, false},
		{"AnswerExpiry", testAnswerExpiry, false},
		{"Sweep", testSweep, true},
		{"CountsByTime", testCountsByTime, false},
		{"RememberBatch", testRememberBatch, false},
		{"Invalid", testInvalid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.serial {
				// The parallel tests wait until the serial ones are done.
				t.Parallel()
			}
			tt.f(t, open)
		})
	}
}

// clock is a fake clock that starts at the real time, rounded down to the
// minute (stores may count by the minute), and moves only when told. It is
// safe for concurrent use.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Minute)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// rig is one test's store, clock, tenant and models.
type rig struct {
	t      *testing.T
	s      feedback.Store
	clk    *clock
	tenant string
	model  string // the new side's model
	legacy string // the legacy side's model
}

func newRig(t *testing.T, open OpenFunc, opts feedback.StoreOptions) *rig {
	clk := newClock()
	opts.Now = clk.Now
	return &rig{t: t, s: open(t, opts), clk: clk, tenant: unique("tenant"), model: unique("model"), legacy: unique("legacy")}
}

func (r *rig) remember(ids ...string) {
	r.t.Helper()
	var as []feedback.Answer
	for i, id := range ids {
		a := feedback.Answer{Tenant: r.tenant, RequestID: id, Side: feedback.SideNew, Model: r.model, Route: "chat", Cached: i%2 == 1, At: r.clk.Now()}
		if strings.HasPrefix(id, "legacy") {
			a.Side, a.Model, a.Cached = feedback.SideLegacy, r.legacy, false
		}
		as = append(as, a)
	}
	if err := r.s.Remember(r.t.Context(), as...); err != nil {
		r.t.Fatalf("Remember: %v", err)
	}
}

func rating(tenant, id, user string, score int) feedback.Rating {
	v, sc, err := feedback.Judge(score, "")
	if err != nil {
		panic(err)
	}
	return feedback.Rating{Tenant: tenant, RequestID: id, User: user, Rating: score, Scale: sc, Verdict: v}
}

func (r *rig) rate(id, user string, score int) feedback.Rated {
	r.t.Helper()
	got, err := r.s.Rate(r.t.Context(), rating(r.tenant, id, user, score))
	if err != nil {
		r.t.Fatalf("Rate(%s, %s, %d): %v", id, user, score, err)
	}
	return got
}

// counts returns this rig's counts in [since, until), keyed by
// "side/model/verdict" with the rig's model names shortened to new and
// legacy.
func (r *rig) counts(since, until time.Time) map[string]uint64 {
	r.t.Helper()
	cs, err := r.s.Counts(r.t.Context(), since, until)
	if err != nil {
		r.t.Fatalf("Counts: %v", err)
	}
	out := map[string]uint64{}
	for _, c := range cs {
		var m string
		switch c.Model {
		case r.model:
			m = "new"
		case r.legacy:
			m = "legacy"
		default:
			continue
		}
		if c.N > 0 {
			out[c.Side+"/"+m+"/"+string(c.Verdict)] += c.N
		}
	}
	return out
}

// all returns the rig's counts around now.
func (r *rig) all() map[string]uint64 {
	now := r.clk.Now()
	return r.counts(now.Add(-time.Hour), now.Add(time.Hour))
}

func testRateUnknown(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	_, err := r.s.Rate(t.Context(), rating(r.tenant, "never-answered", "u", 1))
	if !errors.Is(err, feedback.ErrUnknownRequest) {
		t.Errorf("Rate of an unknown request = %v; want ErrUnknownRequest", err)
	}
}

func testRememberAndRate(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	r.remember("req-1", "req-2", "legacy-1")
	r.clk.Advance(3 * time.Second)
	in := rating(r.tenant, "req-2", "alice", -1)
	in.Comment = "wrong answer, and rude"
	got, err := r.s.Rate(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := feedback.Rated{Rating: feedback.Rating{
		Tenant: r.tenant, RequestID: "req-2", User: "alice", Rating: -1, Scale: feedback.Thumbs, Verdict: feedback.Negative,
		Comment: "wrong answer, and rude", At: r.clk.Now(),
		Answer: feedback.Answer{Tenant: r.tenant, RequestID: "req-2", Side: feedback.SideNew, Model: r.model, Route: "chat", Cached: true, At: r.clk.Now().Add(-3 * time.Second)},
	}}
	if diff := cmp.Diff(want, got, timeEqual); diff != "" {
		t.Errorf("Rate (-want +got):\n%s", diff)
	}
	r.rate("legacy-1", "bob", 5)
	r.rate("req-1", "bob", 0)
	wantCounts := map[string]uint64{"new/new/negative": 1, "new/new/neutral": 1, "legacy/legacy/positive": 1}
	if diff := cmp.Diff(wantCounts, r.all()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// timeEqual compares times by instant, as stores round-trip them in other
// locations and precisions (PostgreSQL keeps microseconds).
var timeEqual = cmp.Comparer(func(a, b time.Time) bool {
	d := a.Sub(b)
	return d < time.Millisecond && d > -time.Millisecond
})

func testReplaceCountsOnce(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	r.remember("req-1")
	if got := r.rate("req-1", "alice", 1); got.Replaced {
		t.Error("first rating: Replaced = true")
	}
	r.clk.Advance(2 * time.Minute)
	if got := r.rate("req-1", "alice", 2); !got.Replaced || got.Rating.Verdict != feedback.Negative {
		t.Errorf("second rating = %+v; want Replaced and negative", got)
	}
	r.rate("req-1", "alice", 2) // the same again changes nothing
	r.rate("req-1", "bob", 4)
	want := map[string]uint64{"new/new/negative": 1, "new/new/positive": 1}
	if diff := cmp.Diff(want, r.all()); diff != "" {
		t.Errorf("counts after a replaced rating (-want +got):\n%s", diff)
	}
}

func testConcurrentRatings(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	r.remember("req-1")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			score := 1
			if i%2 == 0 {
				score = -1
			}
			_, err := r.s.Rate(context.WithoutCancel(t.Context()), rating(r.tenant, "req-1", fmt.Sprintf("user-%d", i%4), score))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var total uint64
	for _, n := range r.all() {
		total += n
	}
	if total != 4 {
		t.Errorf("40 ratings by 4 users counted %d times; want 4", total)
	}
}

func testTenantIsolation(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	r.remember("req-1")
	_, err := r.s.Rate(t.Context(), rating(unique("other"), "req-1", "alice", 1))
	if !errors.Is(err, feedback.ErrUnknownRequest) {
		t.Errorf("another tenant rating req-1 = %v; want ErrUnknownRequest", err)
	}
	if got := r.all(); len(got) != 0 {
		t.Errorf("counts = %v; want none", got)
	}
}

func testAnswerExpiry(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{AnswerTTL: time.Minute})
	r.remember("req-1", "req-2")
	r.clk.Advance(50 * time.Second)
	r.rate("req-1", "alice", 1)
	r.clk.Advance(20 * time.Second)
	_, err := r.s.Rate(t.Context(), rating(r.tenant, "req-2", "alice", 1))
	if !errors.Is(err, feedback.ErrUnknownRequest) {
		t.Errorf("Rate after the answer's TTL = %v; want ErrUnknownRequest", err)
	}
	// A rating given in time stays counted.
	if got := r.all(); got["new/new/positive"] != 1 {
		t.Errorf("counts = %v; want the rating given in time", got)
	}
}

func testSweep(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{AnswerTTL: time.Minute})
	r.remember("req-1")
	r.clk.Advance(2 * time.Minute)
	if _, err := r.s.Sweep(t.Context()); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	_, err := r.s.Rate(t.Context(), rating(r.tenant, "req-1", "alice", 1))
	if !errors.Is(err, feedback.ErrUnknownRequest) {
		t.Errorf("Rate after Sweep = %v; want ErrUnknownRequest", err)
	}
}

func testCountsByTime(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	t0 := r.clk.Now()
	r.remember("req-1", "req-2", "req-3")
	r.rate("req-1", "alice", -1)
	r.clk.Advance(5 * time.Minute)
	r.rate("req-2", "alice", 1)
	r.clk.Advance(5 * time.Minute)
	r.rate("req-3", "alice", 1)
	tests := []struct {
		name         string
		since, until time.Time
		want         map[string]uint64
	}{
		{"all", t0, t0.Add(11 * time.Minute), map[string]uint64{"new/new/negative": 1, "new/new/positive": 2}},
		{"first only", t0, t0.Add(5 * time.Minute), map[string]uint64{"new/new/negative": 1}},
		{"from the second", t0.Add(5 * time.Minute), t0.Add(11 * time.Minute), map[string]uint64{"new/new/positive": 2}},
		{"between", t0.Add(6 * time.Minute), t0.Add(10 * time.Minute), map[string]uint64{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, r.counts(tt.since, tt.until)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testRememberBatch(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = fmt.Sprintf("req-%d", i)
	}
	r.remember(ids...)
	r.rate("req-0", "alice", 1)
	r.rate("req-299", "alice", 1)
	// Remembering a request id again replaces its record.
	a := feedback.Answer{Tenant: r.tenant, RequestID: "req-5", Side: feedback.SideLegacy, Model: r.legacy, Route: "query", At: r.clk.Now()}
	if err := r.s.Remember(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	if got := r.rate("req-5", "alice", 1); got.Rating.Answer.Side != feedback.SideLegacy || got.Rating.Answer.Route != "query" {
		t.Errorf("rated answer = %+v; want the record remembered last", got.Rating.Answer)
	}
}

func testInvalid(t *testing.T, open OpenFunc) {
	r := newRig(t, open, feedback.StoreOptions{})
	r.remember("req-1")
	bad := []struct {
		name string
		r    feedback.Rating
	}{
		{"verdict not matching", func() feedback.Rating {
			x := rating(r.tenant, "req-1", "u", 1)
			x.Verdict = feedback.Negative
			return x
		}()},
		{"out of range", feedback.Rating{Tenant: r.tenant, RequestID: "req-1", Rating: 9, Scale: feedback.Stars, Verdict: feedback.Positive}},
		{"empty request id", rating(r.tenant, "", "u", 1)},
		{"control character in user", rating(r.tenant, "req-1", "u\n", 1)},
		{"long comment", func() feedback.Rating {
			x := rating(r.tenant, "req-1", "u", 1)
			x.Comment = strings.Repeat("x", feedback.MaxCommentBytes+1)
			return x
		}()},
	}
	for _, b := range bad {
		if _, err := r.s.Rate(t.Context(), b.r); !errors.Is(err, feedback.ErrInvalid) {
			t.Errorf("Rate with %s = %v; want ErrInvalid", b.name, err)
		}
	}
	if err := r.s.Remember(t.Context(), feedback.Answer{Tenant: r.tenant, RequestID: "x", Side: "middle"}); !errors.Is(err, feedback.ErrInvalid) {
		t.Errorf("Remember with side middle = %v; want ErrInvalid", err)
	}
	if got := r.all(); len(got) != 0 {
		t.Errorf("counts = %v; want none", got)
	}
}
