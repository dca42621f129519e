// Package memorytest is the conformance suite every memory.Backend passes:
// atomic, versioned changes; duplicate and forgotten interactions refused;
// episode search by similarity, per tenant and user; forgetting; and the
// durable queue's order, leases, redelivery and concurrent consumers.
// Backends call Run from their tests; only test files import it.
package memorytest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/memory"
)

// OpenFunc returns a backend for one test, with a queue of its own (no
// other test's interactions in it) built with opts.
type OpenFunc func(t *testing.T, opts memory.QueueOptions) memory.Backend

// Run runs the suite, its tests in parallel.
func Run(t *testing.T, open OpenFunc) { run(t, open, true) }

// RunSerial runs the suite one test at a time, for servers that cannot
// serve tests in parallel (pglite runs every connection in one session).
func RunSerial(t *testing.T, open OpenFunc) { run(t, open, false) }

func run(t *testing.T, open OpenFunc, parallel bool) {
	tests := []struct {
		name string
		f    func(*testing.T, OpenFunc)
	}{
		{"ApplyAndLoad", testApplyAndLoad},
		{"Conflict", testConflict},
		{"Duplicate", testDuplicate},
		{"ForgottenUser", testForgottenUser},
		{"ForgottenSession", testForgottenSession},
		{"SearchEpisodes", testSearchEpisodes},
		{"Isolation", testIsolation},
		{"SessionEpisodes", testSessionEpisodes},
		{"QueueOrder", testQueueOrder},
		{"QueueRoundTrip", testQueueRoundTrip},
		{"QueueRedelivery", testQueueRedelivery},
		{"QueueConcurrentConsumers", testQueueConcurrent},
		{"QueueClaimWaits", testQueueClaimWaits},
		{"QueueStats", testQueueStats},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			tt.f(t, open)
		})
	}
}

// tenant returns a tenant name no other test uses.
func tenant() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "t-" + hex.EncodeToString(b)
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// vec returns a unit vector of dimension 8 pointing mostly along axis i.
func vec(i int, wobble float32) []float32 {
	v := make([]float32, 8)
	v[i%8] = 1
	v[(i+1)%8] = wobble
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	for j := range v {
		v[j] = float32(float64(v[j]) / math.Sqrt(n))
	}
	return v
}

func interaction(k memory.Key, id, session string, at time.Time) *memory.Interaction {
	return &memory.Interaction{ID: id, Tenant: k.Tenant, User: k.User, SessionID: session, Domain: "general",
		Query: "query " + id, Response: "response " + id, Source: "api", At: at}
}

func episodeOf(i *memory.Interaction, v []float32) *memory.Episode {
	return &memory.Episode{ID: i.ID, Tenant: i.Tenant, User: i.User, SessionID: i.SessionID, Domain: i.Domain,
		Query: i.Query, Response: i.Response, At: i.At, FactIDs: []string{i.ID + "-0"}, Vector: v}
}

func fact(k memory.Key, id, pred, obj string, src *memory.Interaction) memory.Fact {
	return memory.Fact{ID: id, Tenant: k.Tenant, User: k.User, Subject: "user", Predicate: pred, Object: obj,
		Domain: "general", Confidence: 0.9, Sources: []memory.Source{{Interaction: src.ID, SessionID: src.SessionID, At: src.At}},
		StatedAt: src.At, UpdatedAt: src.At, Vector: vec(3, 0.5)}
}

// consolidate applies the episode and facts of i at version v.
func consolidate(t *testing.T, b memory.Backend, i *memory.Interaction, v int64, ep []float32, facts ...memory.Fact) {
	t.Helper()
	err := b.Apply(context.Background(), memory.Change{Key: i.Key(), Version: v, Interaction: i, Episode: episodeOf(i, ep), Put: facts})
	if err != nil {
		t.Fatalf("Apply(%s) = %v", i.ID, err)
	}
}

// load returns all of k's facts, superseded ones included.
func load(t *testing.T, b memory.Backend, k memory.Key) memory.State {
	t.Helper()
	return loadWhich(t, b, k, memory.AllFacts)
}

func loadWhich(t *testing.T, b memory.Backend, k memory.Key, which memory.Which) memory.State {
	t.Helper()
	st, err := b.Load(context.Background(), k, which)
	if err != nil {
		t.Fatalf("Load(%v) = %v", k, err)
	}
	slices.SortFunc(st.Facts, func(a, b memory.Fact) int { return cmpStr(a.ID, b.ID) })
	return st
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// timeEq compares times by instant, to the microsecond (PostgreSQL's
// resolution).
var timeEq = cmp.Comparer(func(a, b time.Time) bool { return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond)) })

func testApplyAndLoad(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	k := memory.Key{Tenant: tenant(), User: "u1"}
	if st := load(t, b, k); st.Version != 0 || len(st.Facts) != 0 {
		t.Fatalf("Load of a new user = %+v; want version 0 and no facts", st)
	}
	i1 := interaction(k, "i1", "s1", t0)
	f1 := fact(k, "f1", "name", "Alice", i1)
	f1.Negated = false
	consolidate(t, b, i1, 0, vec(0, 0), f1)
	st := load(t, b, k)
	if st.Version != 1 {
		t.Errorf("version after one change = %d; want 1", st.Version)
	}
	if diff := cmp.Diff([]memory.Fact{f1}, st.Facts, timeEq); diff != "" {
		t.Errorf("facts (-want +got):\n%s", diff)
	}

	// Replace f1 (superseded), add f2 and f3, then delete f3.
	i2 := interaction(k, "i2", "s2", t0.Add(time.Minute))
	f2 := fact(k, "f2", "name", "Bob", i2)
	f2.Negated = true
	f1.SupersededBy, f1.SupersededAt = "f2", t0.Add(time.Minute)
	f3 := fact(k, "f3", "residence", "Paris", i2)
	consolidate(t, b, i2, 1, vec(1, 0), f1, f2, f3)
	if err := b.Apply(context.Background(), memory.Change{Key: k, Version: 2, Delete: []string{"f3"}}); err != nil {
		t.Fatal(err)
	}
	st = load(t, b, k)
	if st.Version != 3 {
		t.Errorf("version after three changes = %d; want 3", st.Version)
	}
	if diff := cmp.Diff([]memory.Fact{f1, f2}, st.Facts, timeEq); diff != "" {
		t.Errorf("all facts (-want +got):\n%s", diff)
	}
	cur := loadWhich(t, b, k, memory.CurrentFacts)
	if diff := cmp.Diff([]memory.Fact{f2}, cur.Facts, timeEq); diff != "" || cur.Version != 3 {
		t.Errorf("current facts at version %d (-want +got):\n%s", cur.Version, diff)
	}

	// A superseded fact current again (its superseder forgotten), and the
	// superseder deleted.
	f1.SupersededBy, f1.SupersededAt = "", time.Time{}
	if err := b.Apply(context.Background(), memory.Change{Key: k, Version: 3, Put: []memory.Fact{f1}, Delete: []string{"f2"}}); err != nil {
		t.Fatal(err)
	}
	if cur := loadWhich(t, b, k, memory.CurrentFacts); len(cur.Facts) != 1 || cur.Facts[0].ID != "f1" {
		t.Errorf("current facts after restoring f1: %+v; want f1", cur.Facts)
	}
	if all := load(t, b, k); len(all.Facts) != 1 {
		t.Errorf("all facts after deleting f2: %+v; want f1 alone", all.Facts)
	}
}

func testConflict(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	k := memory.Key{Tenant: tenant(), User: "u"}
	i1 := interaction(k, "i1", "", t0)
	consolidate(t, b, i1, 0, vec(0, 0))
	i2 := interaction(k, "i2", "", t0)
	err := b.Apply(context.Background(), memory.Change{Key: k, Version: 0, Interaction: i2, Episode: episodeOf(i2, vec(1, 0)), Put: []memory.Fact{fact(k, "f", "age", "3", i2)}})
	if !errors.Is(err, memory.ErrConflict) {
		t.Fatalf("Apply on a stale version = %v; want ErrConflict", err)
	}
	if st := load(t, b, k); st.Version != 1 || len(st.Facts) != 0 {
		t.Errorf("a refused change left %+v; want version 1, no facts", st)
	}
	if hits, _ := b.SearchEpisodes(context.Background(), k, vec(1, 0), 5); len(hits) != 1 || hits[0].ID != "i1" {
		t.Errorf("a refused change's episode is searchable: %v", ids(hits))
	}
}

func testDuplicate(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	k := memory.Key{Tenant: tenant(), User: "u"}
	i := interaction(k, "i1", "s", t0)
	consolidate(t, b, i, 0, vec(0, 0), fact(k, "f1", "name", "Alice", i))
	// The same interaction again, planned on the current version: refused
	// as a duplicate, before the version is looked at.
	for _, v := range []int64{1, 0} {
		err := b.Apply(context.Background(), memory.Change{Key: k, Version: v, Interaction: i, Episode: episodeOf(i, vec(0, 0)), Put: []memory.Fact{fact(k, "f2", "name", "Alice", i)}})
		if !errors.Is(err, memory.ErrDuplicate) {
			t.Errorf("Apply of a consolidated interaction at version %d = %v; want ErrDuplicate", v, err)
		}
	}
	if st := load(t, b, k); st.Version != 1 || len(st.Facts) != 1 {
		t.Errorf("after duplicates: %+v; want version 1 and one fact", st)
	}
}

func testForgottenUser(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	ctx := context.Background()
	k := memory.Key{Tenant: tenant(), User: "u"}
	other := memory.Key{Tenant: k.Tenant, User: "other"}
	i1 := interaction(k, "i1", "s", t0)
	consolidate(t, b, i1, 0, vec(0, 0), fact(k, "f1", "name", "Alice", i1))
	o1 := interaction(other, "o1", "s", t0)
	consolidate(t, b, o1, 0, vec(0, 0), fact(other, "g1", "name", "Olga", o1))

	if err := b.ForgetUser(ctx, k, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	st := load(t, b, k)
	if len(st.Facts) != 0 || st.Version == 0 {
		t.Errorf("after ForgetUser: %+v; want no facts and a new version", st)
	}
	if hits, _ := b.SearchEpisodes(ctx, k, vec(0, 0), 5); len(hits) != 0 {
		t.Errorf("forgotten user's episodes found: %v", ids(hits))
	}
	if refs, _ := b.SessionEpisodes(ctx, k.Tenant, "s"); !slices.Equal(refUsers(refs), []string{"other"}) {
		t.Errorf("session lists %v after ForgetUser; want only the other user's", refs)
	}
	if st := load(t, b, other); len(st.Facts) != 1 {
		t.Errorf("the other user kept %d facts; want 1", len(st.Facts))
	}
	// An interaction made before the deletion (still queued) is refused;
	// one made after it is consolidated.
	late := interaction(k, "i2", "s", t0.Add(30*time.Second))
	err := b.Apply(ctx, memory.Change{Key: k, Version: st.Version, Interaction: late, Episode: episodeOf(late, vec(1, 0))})
	if !errors.Is(err, memory.ErrForgotten) {
		t.Errorf("Apply of an interaction made before ForgetUser = %v; want ErrForgotten", err)
	}
	after := interaction(k, "i3", "s", t0.Add(2*time.Minute))
	consolidate(t, b, after, st.Version, vec(1, 0))
	// The user's memory can be forgotten again.
	if err := b.ForgetUser(ctx, k, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if hits, _ := b.SearchEpisodes(ctx, k, vec(1, 0), 5); len(hits) != 0 {
		t.Errorf("episodes after a second ForgetUser: %v", ids(hits))
	}
}

func testForgottenSession(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	ctx := context.Background()
	k := memory.Key{Tenant: tenant(), User: "u"}
	if err := b.ForgetSession(ctx, k.Tenant, "gone", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	before := interaction(k, "i1", "gone", t0)
	err := b.Apply(ctx, memory.Change{Key: k, Version: 0, Interaction: before, Episode: episodeOf(before, vec(0, 0))})
	if !errors.Is(err, memory.ErrForgotten) {
		t.Errorf("Apply of an interaction of a forgotten session = %v; want ErrForgotten", err)
	}
	// Another tenant's session of the same name is not forgotten.
	ok := interaction(memory.Key{Tenant: tenant(), User: "u"}, "i1", "gone", t0)
	consolidate(t, b, ok, 0, vec(0, 0))
	// Nor is a later interaction of the session, nor another session.
	consolidate(t, b, interaction(k, "i2", "gone", t0.Add(2*time.Minute)), 0, vec(0, 0))
	consolidate(t, b, interaction(k, "i3", "kept", t0), 1, vec(0, 0))
}

func testSearchEpisodes(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	ctx := context.Background()
	k := memory.Key{Tenant: tenant(), User: "u"}
	var v int64
	for i := range 6 {
		in := interaction(k, fmt.Sprintf("e%d", i), "s", t0.Add(time.Duration(i)*time.Second))
		consolidate(t, b, in, v, vec(i, 0.1))
		v++
	}
	// One without a vector: never found.
	novec := interaction(k, "novec", "s", t0)
	consolidate(t, b, novec, v, nil)

	hits, err := b.SearchEpisodes(ctx, k, vec(2, 0), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 || hits[0].ID != "e2" {
		t.Fatalf("SearchEpisodes = %v; want 3 hits, e2 first", ids(hits))
	}
	if hits[0].Score < 0.99 || hits[0].Score > 1.001 {
		t.Errorf("score of the nearest vector = %v; want 0.995", hits[0].Score)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Errorf("hits not best first: %v", scores(hits))
		}
	}
	if hits[1].ID != "e1" {
		t.Errorf("second hit = %s; want e1 (its wobble points at e2's axis)", hits[1].ID)
	}
	want := interaction(k, "e2", "s", t0.Add(2*time.Second))
	got := hits[0].Episode
	got.Vector = nil
	if diff := cmp.Diff(*episodeOf(want, nil), got, timeEq); diff != "" {
		t.Errorf("episode (-want +got):\n%s", diff)
	}
	all, _ := b.SearchEpisodes(ctx, k, vec(2, 0.1), 100)
	if len(all) != 6 {
		t.Errorf("search of 100 found %d; want the 6 episodes with vectors", len(all))
	}
	// Deleted episodes are not found.
	if err := b.Apply(ctx, memory.Change{Key: k, Version: v + 1, DeleteEpisodes: []string{"e2"}}); err != nil {
		t.Fatal(err)
	}
	hits, _ = b.SearchEpisodes(ctx, k, vec(2, 0.1), 1)
	if len(hits) != 1 || hits[0].ID == "e2" {
		t.Errorf("after deleting e2: %v", ids(hits))
	}
}

// testIsolation checks that search, load and forgetting stay within one
// tenant and user.
func testIsolation(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	ctx := context.Background()
	t1, t2 := tenant(), tenant()
	keys := []memory.Key{{Tenant: t1, User: "alice"}, {Tenant: t1, User: "bob"}, {Tenant: t2, User: "alice"}, {Tenant: t1, User: ""}}
	for n, k := range keys {
		in := interaction(k, "same-id", "s", t0)
		consolidate(t, b, in, 0, vec(0, 0), fact(k, "f", "name", fmt.Sprint(n), in))
	}
	for n, k := range keys {
		hits, err := b.SearchEpisodes(ctx, k, vec(0, 0), 10)
		if err != nil || len(hits) != 1 || hits[0].Tenant != k.Tenant || hits[0].User != k.User {
			t.Errorf("SearchEpisodes(%v) = %+v, %v; want its own episode only", k, hits, err)
		}
		st := load(t, b, k)
		if len(st.Facts) != 1 || st.Facts[0].Object != fmt.Sprint(n) {
			t.Errorf("Load(%v) = %+v; want its own fact only", k, st.Facts)
		}
	}
	if err := b.ForgetUser(ctx, keys[0], t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[1:] {
		if st := load(t, b, k); len(st.Facts) != 1 {
			t.Errorf("forgetting %v took %v's facts", keys[0], k)
		}
	}
	for _, bad := range []memory.Key{{Tenant: "", User: "u"}, {Tenant: "t\x00x", User: "u"}, {Tenant: "t", User: "u\x00"}} {
		if _, err := b.Load(ctx, bad, memory.CurrentFacts); !errors.Is(err, memory.ErrInvalidKey) {
			t.Errorf("Load(%q) = %v; want ErrInvalidKey", bad, err)
		}
	}
}

func testSessionEpisodes(t *testing.T, open OpenFunc) {
	b := open(t, memory.QueueOptions{})
	ctx := context.Background()
	ten := tenant()
	a, c := memory.Key{Tenant: ten, User: "a"}, memory.Key{Tenant: ten, User: "c"}
	consolidate(t, b, interaction(a, "a1", "s1", t0), 0, vec(0, 0))
	consolidate(t, b, interaction(a, "a2", "s2", t0), 1, vec(0, 0))
	consolidate(t, b, interaction(c, "c1", "s1", t0), 0, vec(0, 0))
	consolidate(t, b, interaction(memory.Key{Tenant: tenant(), User: "a"}, "x1", "s1", t0), 0, vec(0, 0))
	refs, err := b.SessionEpisodes(ctx, ten, "s1")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(refs, func(x, y memory.EpisodeRef) int { return cmpStr(x.ID, y.ID) })
	want := []memory.EpisodeRef{{User: "a", ID: "a1"}, {User: "c", ID: "c1"}}
	if diff := cmp.Diff(want, refs); diff != "" {
		t.Errorf("SessionEpisodes (-want +got):\n%s", diff)
	}
	if err := b.Apply(ctx, memory.Change{Key: a, Version: 2, DeleteEpisodes: []string{"a1"}}); err != nil {
		t.Fatal(err)
	}
	refs, _ = b.SessionEpisodes(ctx, ten, "s1")
	if len(refs) != 1 || refs[0].ID != "c1" {
		t.Errorf("after deleting a1: %v", refs)
	}
}

func items(k memory.Key, n int) []memory.Interaction {
	out := make([]memory.Interaction, n)
	for i := range out {
		out[i] = *interaction(k, fmt.Sprintf("q%03d", i), "s", t0.Add(time.Duration(i)*time.Millisecond))
	}
	return out
}

func claim(t *testing.T, q memory.Queue, consumer string, max int, wait time.Duration) []memory.Delivery {
	t.Helper()
	ds, err := q.Claim(context.Background(), consumer, max, wait)
	if err != nil {
		t.Fatalf("Claim = %v", err)
	}
	return ds
}

func deliveredIDs(ds []memory.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Interaction.ID
	}
	return out
}

func testQueueOrder(t *testing.T, open OpenFunc) {
	q := open(t, memory.QueueOptions{})
	ctx := context.Background()
	k := memory.Key{Tenant: tenant(), User: "u"}
	all := items(k, 5)
	if err := q.Enqueue(ctx, all[:2]); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, all[2:]); err != nil {
		t.Fatal(err)
	}
	first := claim(t, q, "c1", 3, 0)
	if got := deliveredIDs(first); !slices.Equal(got, []string{"q000", "q001", "q002"}) {
		t.Errorf("first claim = %v; want the three oldest", got)
	}
	for _, d := range first {
		if d.Attempt != 1 {
			t.Errorf("first delivery of %s has attempt %d; want 1", d.Interaction.ID, d.Attempt)
		}
	}
	rest := claim(t, q, "c2", 10, 0)
	if got := deliveredIDs(rest); !slices.Equal(got, []string{"q003", "q004"}) {
		t.Errorf("second claim = %v; want the two left (the leased ones stay invisible)", got)
	}
	if err := q.Ack(ctx, append(first, rest...)); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(ctx, first); err != nil {
		t.Errorf("a second Ack = %v; want nil", err)
	}
	if ds := claim(t, q, "c1", 10, 0); len(ds) != 0 {
		t.Errorf("claim after acking all = %v; want none", deliveredIDs(ds))
	}
}

func testQueueRoundTrip(t *testing.T, open OpenFunc) {
	q := open(t, memory.QueueOptions{})
	in := memory.Interaction{ID: "rt", Tenant: tenant(), User: "ünïcode user", SessionID: "s 1", Domain: "ai",
		Query: "What is machine learning?\nTell me.", Response: "Machine learning is … \"quoted\"", Model: "bedrock_haiku",
		Source: "cache", At: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)}
	if err := q.Enqueue(context.Background(), []memory.Interaction{in}); err != nil {
		t.Fatal(err)
	}
	ds := claim(t, q, "c", 1, time.Second)
	if len(ds) != 1 {
		t.Fatalf("claimed %d; want 1", len(ds))
	}
	if diff := cmp.Diff(in, ds[0].Interaction, timeEq); diff != "" {
		t.Errorf("interaction (-want +got):\n%s", diff)
	}
}

func testQueueRedelivery(t *testing.T, open OpenFunc) {
	const lease = 300 * time.Millisecond
	q := open(t, memory.QueueOptions{Lease: lease})
	ctx := context.Background()
	k := memory.Key{Tenant: tenant(), User: "u"}
	if err := q.Enqueue(ctx, items(k, 2)); err != nil {
		t.Fatal(err)
	}
	// c1 takes both and dies without acknowledging either.
	if ds := claim(t, q, "c1", 2, 0); len(ds) != 2 {
		t.Fatalf("c1 claimed %d; want 2", len(ds))
	}
	if ds := claim(t, q, "c2", 2, 0); len(ds) != 0 {
		t.Fatalf("c2 claimed %v within the lease; want none", deliveredIDs(ds))
	}
	time.Sleep(lease + 100*time.Millisecond)
	var again []memory.Delivery
	deadline := time.Now().Add(5 * time.Second)
	for len(again) < 2 && time.Now().Before(deadline) {
		again = append(again, claim(t, q, "c2", 2, 200*time.Millisecond)...)
	}
	slices.SortFunc(again, func(a, b memory.Delivery) int { return cmpStr(a.Interaction.ID, b.Interaction.ID) })
	if got := deliveredIDs(again); !slices.Equal(got, []string{"q000", "q001"}) {
		t.Fatalf("after the lease c2 claimed %v; want both again", got)
	}
	for _, d := range again {
		if d.Attempt < 2 {
			t.Errorf("redelivery of %s has attempt %d; want at least 2", d.Interaction.ID, d.Attempt)
		}
	}
	if err := q.Ack(ctx, again); err != nil {
		t.Fatal(err)
	}
	time.Sleep(lease + 100*time.Millisecond)
	if ds := claim(t, q, "c3", 2, 0); len(ds) != 0 {
		t.Errorf("acknowledged interactions came back: %v", deliveredIDs(ds))
	}
}

func testQueueConcurrent(t *testing.T, open OpenFunc) {
	q := open(t, memory.QueueOptions{Lease: time.Minute})
	ctx := context.Background()
	k := memory.Key{Tenant: tenant(), User: "u"}
	const n = 120
	if err := q.Enqueue(ctx, items(k, n)); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for c := range 4 {
		wg.Go(func() {
			for {
				ds, err := q.Claim(ctx, fmt.Sprintf("c%d", c), 7, 0)
				if err != nil {
					t.Errorf("Claim = %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.Interaction.ID]++
				}
				mu.Unlock()
				if err := q.Ack(ctx, ds); err != nil {
					t.Errorf("Ack = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d distinct interactions delivered; want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times within its lease; want once", id, c)
		}
	}
}

func testQueueClaimWaits(t *testing.T, open OpenFunc) {
	q := open(t, memory.QueueOptions{})
	k := memory.Key{Tenant: tenant(), User: "u"}
	start := time.Now()
	if ds := claim(t, q, "c", 1, 150*time.Millisecond); len(ds) != 0 {
		t.Fatalf("claim of an empty queue = %v", deliveredIDs(ds))
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("claim of an empty queue returned after %v; want it to wait about 150ms", d)
	}
	// The claim can return as soon as the store has the entry, before
	// Enqueue has its answer: the test waits for Enqueue, so that it does
	// not end (and close the store) under it.
	enqueued := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		enqueued <- q.Enqueue(context.Background(), items(k, 1))
	}()
	start = time.Now()
	ds := claim(t, q, "c", 1, 10*time.Second)
	d := time.Since(start)
	if err := <-enqueued; err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(ds) != 1 {
		t.Fatalf("waiting claim got %d; want 1", len(ds))
	}
	if d > 5*time.Second {
		t.Errorf("waiting claim took %v; want it soon after the enqueue", d)
	}
}

func testQueueStats(t *testing.T, open OpenFunc) {
	now := time.Now()
	q := open(t, memory.QueueOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	st, err := q.Stats(ctx)
	if err != nil || st.Depth != 0 || !st.Oldest.IsZero() {
		t.Fatalf("Stats of an empty queue = %+v, %v", st, err)
	}
	if err := q.Enqueue(ctx, items(memory.Key{Tenant: tenant(), User: "u"}, 3)); err != nil {
		t.Fatal(err)
	}
	ds := claim(t, q, "c", 1, 0)
	st, err = q.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Depth != 3 || st.InFlight != 1 {
		t.Errorf("Stats = %+v; want depth 3, in flight 1", st)
	}
	if st.Oldest.IsZero() || time.Since(st.Oldest) > time.Minute || st.Oldest.After(time.Now().Add(time.Second)) {
		t.Errorf("Oldest = %v; want about now", st.Oldest)
	}
	if err := q.Ack(ctx, ds); err != nil {
		t.Fatal(err)
	}
	if st, _ = q.Stats(ctx); st.Depth != 2 || st.InFlight != 0 {
		t.Errorf("Stats after an ack = %+v; want depth 2, none in flight", st)
	}
}

func ids(hits []memory.EpisodeHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

func scores(hits []memory.EpisodeHit) []float32 {
	out := make([]float32, len(hits))
	for i, h := range hits {
		out[i] = h.Score
	}
	return out
}

func refUsers(refs []memory.EpisodeRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.User)
	}
	slices.Sort(out)
	return out
}
