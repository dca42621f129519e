package dynamostore

import (
	"context"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
)

// startCacheReplica runs a cache over its own handle on db's table, as one
// gateway process would, until the test ends.
func startCacheReplica(t *testing.T, db *DB) *cache.Cache {
	t.Helper()
	replica := openTable(t, Options{Table: db.Table(), Region: "us-east-1", Endpoint: endpointOf(t)})
	c := cache.New(cachetest.WordEmbedder{}, NewCacheStore(replica, nil), cache.Options{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("cache.Run still running 15s after its context was cancelled")
		}
	})
	// Ready after a List of the 16 partitions: seconds on a loaded test
	// machine, where dynalite serves every test in one process.
	select {
	case <-c.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("cache not ready 20s after Run")
	}
	return c
}

// outcomeWithin reports whether c's lookup of text has outcome want within
// d: false only once a lookup begun after d has another, so that a lookup
// that a busy machine slowed down past d does not count against the bound.
func outcomeWithin(t *testing.T, c *cache.Cache, d time.Duration, text string, want cache.Outcome) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		began := time.Now()
		res, err := c.Lookup(context.Background(), cache.Query{Scope: cache.Scope{Tenant: "acme", Model: "auto", Domain: "general"}, Text: text, SessionID: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome == want {
			return true
		}
		if !began.Before(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCacheSharedAcrossReplicas: two caches over two handles on one table
// see each other's entries and session deletions within a second, through
// the polled change log, and a replica started later loads the entries.
func TestCacheSharedAcrossReplicas(t *testing.T) {
	db := openDB(t)
	a, b := startCacheReplica(t, db), startCacheReplica(t, db)
	const q = "What is Python?"
	res, err := a.Lookup(context.Background(), cache.Query{Scope: cache.Scope{Tenant: "acme", Model: "auto", Domain: "general"}, Text: q, SessionID: "s1"})
	if err != nil || res.Outcome != cache.Miss {
		t.Fatalf("first lookup on replica a: %v, %v; want a miss", res.Outcome, err)
	}
	if _, err := a.Put(context.Background(), res, cache.Answer{Text: "A programming language.", Model: "haiku"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !outcomeWithin(t, b, time.Second, q, cache.Hit) {
		t.Fatal("replica b does not hit the entry replica a wrote within a second")
	}
	t.Logf("replica b hit replica a's entry after %v", time.Since(start))
	c := startCacheReplica(t, db)
	if !outcomeWithin(t, c, 0, q, cache.Hit) {
		t.Error("a replica started later does not hit the entry from its warm start")
	}
	if err := b.DeleteSession(context.Background(), "acme", "s1"); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*cache.Cache{"a": a, "c": c} {
		if !outcomeWithin(t, r, time.Second, q, cache.Miss) {
			t.Errorf("replica %s still hits 1s after replica b deleted the session", name)
		}
	}
}
