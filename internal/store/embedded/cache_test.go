package embedded

import (
	"context"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
)

func TestCacheStore(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return NewCacheStore(openDB(t, t.TempDir()), nil)
	})
}

// TestCacheStoreReplicas runs the replica suite on two stores over one DB:
// the one way two handles share an embedded file (bbolt admits one
// process).
func TestCacheStoreReplicas(t *testing.T) {
	cachetest.RunReplicas(t, func(t *testing.T) (cache.Store, cache.Store) {
		db := openDB(t, t.TempDir())
		return NewCacheStore(db, nil), NewCacheStore(db, nil)
	})
}

// TestCacheSurvivesReopen checks that entries, vectors and the session
// index are on disk: a new DB on the same directory lists them and can
// delete by session.
func TestCacheSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	e := cachetest.NewEntry("a", "acme", "auto", "s1")
	if err := NewCacheStore(db, nil).Put(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := NewCacheStore(openDB(t, dir), nil)
	var got []cache.Entry
	if err := s.List(t.Context(), func(e cache.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "a" || len(got[0].Vector) != len(e.Vector) || !got[0].CreatedAt.Equal(e.CreatedAt) {
		t.Fatalf("after reopen: %+v", got)
	}
	if ids, err := s.DeleteBySession(t.Context(), "acme", "s1"); err != nil || len(ids) != 1 {
		t.Errorf("DeleteBySession after reopen = %v, %v; want [a]", ids, err)
	}
}

// TestCachePutSweepsExpired checks that Puts delete expired entries, so
// that the file does not keep what nobody can read.
func TestCachePutSweepsExpired(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	db := openDB(t, t.TempDir())
	s := NewCacheStore(db, func() time.Time { return now })
	ctx := context.Background()
	const old = 2*cacheSweepPerPut + 3
	for i := range old {
		e := cachetest.NewEntry(string(rune('a'+i)), "t", "m", "s")
		e.ExpiresAt = now.Add(time.Minute)
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Hour)
	for i := 0; i < 3; i++ {
		e := cachetest.NewEntry(string(rune('A'+i)), "t", "m", "")
		e.ExpiresAt = now.Add(time.Hour)
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if n := countKeys(t, db, cacheEntriesBucket); n != 3 {
		t.Errorf("%d entries stored after 3 Puts; want only the 3 live ones (%d expired ones swept)", n, old)
	}
	if n := countKeys(t, db, cacheSessionsBucket); n != 0 {
		t.Errorf("%d session index keys left; want 0", n)
	}
	if n := countKeys(t, db, cacheExpiryBucket); n != 3 {
		t.Errorf("%d expiry index keys; want 3", n)
	}
}

func countKeys(t *testing.T, db *DB, bucket []byte) int {
	t.Helper()
	n := 0
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkCachePut measures one Put: a synced bbolt transaction.
func BenchmarkCachePut(b *testing.B) {
	db, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := NewCacheStore(db, nil)
	e := cachetest.NewEntry("x", "t", "m", "s")
	e.Vector = make([]float32, 384)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.ID = strconv.Itoa(i)
		i++
		if err := s.Put(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
}
