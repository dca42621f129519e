package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// schemaURL creates a schema private to the test (dropped at its end) and
// returns raw with search_path set to it, so that Open migrates it afresh
// and the test's change feed has a channel of its own.
func schemaURL(t *testing.T, raw string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	db := openDB(t, raw)
	ctx := context.Background()
	if _, err := db.pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestCacheStore(t *testing.T) {
	raw := testenv.PostgresURL(t)
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return NewCacheStore(openDB(t, schemaURL(t, raw)), nil)
	})
}

// TestCacheStoreReplicas runs the replica suite on two connection pools
// (two gateway processes) on one schema.
func TestCacheStoreReplicas(t *testing.T) {
	raw := testenv.PostgresURL(t)
	cachetest.RunReplicas(t, func(t *testing.T) (cache.Store, cache.Store) {
		u := schemaURL(t, raw)
		return NewCacheStore(openDB(t, u), nil), NewCacheStore(openDB(t, u), nil)
	})
}

// TestCacheSchemasApart checks that two schemas of one database share
// neither entries nor change feeds.
func TestCacheSchemasApart(t *testing.T) {
	raw := testenv.PostgresURL(t)
	a := NewCacheStore(openDB(t, schemaURL(t, raw)), nil)
	b := NewCacheStore(openDB(t, schemaURL(t, raw)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := b.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, cachetest.NewEntry("a", "t", "m", "")); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := b.List(ctx, func(cache.Entry) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("the other schema lists %d entries (%v); want none", n, err)
	}
	// A change of b's own, to know that anything of a's would have come.
	if err := b.Put(ctx, cachetest.NewEntry("b", "t", "m", "")); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-feed:
		if c.Entry.ID != "b" {
			t.Errorf("b's feed got %+v; want only b's own put", c)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("b's own put did not arrive within 15s")
	}
}

// TestCachePutSweepsExpired checks that Puts delete expired rows.
func TestCachePutSweepsExpired(t *testing.T) {
	db := openDB(t, schemaURL(t, testenv.PostgresURL(t)))
	now := time.Now()
	s := NewCacheStore(db, func() time.Time { return now })
	ctx := context.Background()
	for i := range 2*cacheSweepPerPut + 3 {
		e := cachetest.NewEntry(string(rune('a'+i)), "t", "m", "")
		e.ExpiresAt = now.Add(time.Minute)
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Hour)
	for _, id := range []string{"A", "B", "C"} {
		if err := s.Put(ctx, cachetest.NewEntry(id, "t", "m", "")); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM cato_cache_entries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d rows after 3 Puts; want only the 3 live ones", n)
	}
}

// TestCacheFeedCarriesManyIDs checks that a deletion of more IDs than one
// notification holds reaches the watcher whole.
func TestCacheFeedCarriesManyIDs(t *testing.T) {
	s := NewCacheStore(openDB(t, schemaURL(t, testenv.PostgresURL(t))), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 2*notifyIDs + 7
	for i := range n {
		if err := s.Put(ctx, cachetest.NewEntry(hex.EncodeToString([]byte{byte(i >> 8), byte(i)}), "t", "m", "long-session")); err != nil {
			t.Fatal(err)
		}
	}
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := s.DeleteBySession(ctx, "t", "long-session")
	if err != nil || len(gone) != n {
		t.Fatalf("DeleteBySession = %d IDs, %v; want %d", len(gone), err, n)
	}
	got := 0
	deadline := time.After(15 * time.Second)
	for got < n {
		select {
		case c := <-feed:
			if c.Op != cache.OpDelete {
				t.Fatalf("change %+v; want deletions", c)
			}
			got += len(c.IDs)
		case <-deadline:
			t.Fatalf("%d of %d deleted IDs announced within 15s", got, n)
		}
	}
}

// BenchmarkCachePut measures one Put of an entry with a 384-dimension
// vector: one round trip.
func BenchmarkCachePut(b *testing.B) {
	s := NewCacheStore(openDB(b, testenv.PostgresURL(b)), nil)
	e := cachetest.NewEntry("x", "bench", "m", "s")
	e.Vector = make([]float32, 384)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.ID = "bench-" + strconv.Itoa(i)
		i++
		if err := s.Put(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if _, err := s.Purge(context.Background(), cache.Filter{Tenant: "bench"}); err != nil {
		b.Fatal(err)
	}
}

// TestCacheFeedQuiet checks that a feed outlives quiet spells longer than
// its keepalive (each ends in a ping) and still delivers afterwards.
func TestCacheFeedQuiet(t *testing.T) {
	s := NewCacheStore(openDB(t, schemaURL(t, testenv.PostgresURL(t))), nil)
	// Long enough that a ping's answer is never that late on a busy
	// machine, short enough for several quiet spells in seconds.
	s.keepalive = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case c, ok := <-feed:
		t.Fatalf("quiet feed yielded %+v (open=%v)", c, ok)
	case <-time.After(5 * s.keepalive):
	}
	if err := s.Put(ctx, cachetest.NewEntry("late", "t", "m", "")); err != nil {
		t.Fatal(err)
	}
	select {
	case c, ok := <-feed:
		if !ok || c.Entry.ID != "late" {
			t.Fatalf("got %+v (open=%v); want the put of late", c, ok)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a put after a quiet spell did not arrive within 15s")
	}
}

// TestCacheFeedClosesWhenKilled ends the listening connection on the
// server: the watcher's channel closes (the cache then lists again) rather
// than going quiet.
func TestCacheFeedClosesWhenKilled(t *testing.T) {
	raw := testenv.PostgresURL(t)
	u := schemaURL(t, raw) + "&application_name=cato_feed_test"
	s := NewCacheStore(openDB(t, u), nil)
	// No keepalive ping within the wait below: the kill alone must close
	// the feed.
	s.keepalive = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin := openDB(t, raw)
	var n int
	if err := admin.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'cato_feed_test'`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("terminated %d backends (%v); want the listener's", n, err)
	}
	select {
	case c, ok := <-feed:
		if ok {
			t.Fatalf("got %+v from a killed connection", c)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("feed still open 15s after its connection was killed")
	}
}
