package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// TestBackendCache opens each backend through its URL, stores a cache
// entry, sees it on the change feed, and finds it again after closing and
// reopening the backend (a gateway restart).
//
// pglite, the test server with pgvector, runs all its connections in one
// session and did not deliver a NOTIFY to another connection, so its feed
// is not checked; the cache needs no pgvector, and PostgreSQL 15 runs the
// whole suite (pgstore.TestCacheStore).
func TestBackendCache(t *testing.T) {
	tests := map[string]struct {
		url  func(t *testing.T) string
		feed bool
	}{
		"embedded": {func(t *testing.T) string { return "embedded://" + filepath.Join(t.TempDir(), "state") }, true},
		"redis":    {func(t *testing.T) string { return testenv.RedisURL(t) + "?prefix=test-cache-open:" }, true},
		"postgres": {func(t *testing.T) string { return testenv.PostgresURL(t) }, true},
		"pgvector": {func(t *testing.T) string { return testenv.PgvectorURL(t) }, false},
		"dynamodb": {dynamoURL, true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			raw := tt.url(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b, err := Open(ctx, raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := b.Cache()
			feed, err := s.Watch(ctx)
			if err != nil {
				b.Close()
				t.Fatal(err)
			}
			id := make([]byte, 16)
			rand.Read(id)
			e := cachetest.NewEntry(hex.EncodeToString(id), "open-test", "auto", "s1")
			if err := s.Put(ctx, e); err != nil {
				b.Close()
				t.Fatal(err)
			}
			if tt.feed {
				select {
				case c := <-feed:
					if c.Op != cache.OpPut || c.Entry.ID != e.ID {
						t.Errorf("first change %+v; want the put of %s", c, e.ID)
					}
				case <-time.After(15 * time.Second):
					t.Error("the put did not reach the feed within 15s")
				}
			}
			cancel()
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}

			ctx = context.Background()
			b, err = Open(ctx, raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			s = b.Cache()
			found := false
			err = s.List(ctx, func(got cache.Entry) error {
				found = found || (got.ID == e.ID && len(got.Vector) == len(e.Vector))
				return nil
			})
			if err != nil || !found {
				t.Errorf("after reopening, List found the entry: %v (err %v)", found, err)
			}
			if ids, err := s.DeleteBySession(ctx, "open-test", "s1"); err != nil || len(ids) == 0 {
				t.Errorf("DeleteBySession(s1) = %v, %v; want the entry", ids, err)
			}
		})
	}
}
