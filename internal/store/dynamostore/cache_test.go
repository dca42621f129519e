package dynamostore

import (
	"context"
	"strconv"
	"testing"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
)

func TestCacheStore(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Store { return NewCacheStore(openDB(t), nil) })
}

func TestCacheStoreReplicas(t *testing.T) {
	cachetest.RunReplicas(t, func(t *testing.T) (first, second cache.Store) {
		db := openDB(t)
		replica := openTable(t, Options{Table: db.Table(), Region: "us-east-1", Endpoint: endpointOf(t)})
		return NewCacheStore(db, nil), NewCacheStore(replica, nil)
	})
}

func BenchmarkCachePut(b *testing.B) {
	s := NewCacheStore(openDB(b), nil)
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
}
