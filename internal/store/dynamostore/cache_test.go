package dynamostore

import (
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
