package store

import (
	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
)

// Cache returns the semantic cache's store on the backend, so that cache
// entries outlive a restart: the bbolt file (one process; its change feed
// is in-process), Redis (shared by replicas; pub/sub feed, server-side
// expiry), PostgreSQL (shared by replicas; LISTEN/NOTIFY feed) or DynamoDB
// (shared by replicas; a change log each replica polls). The store
// is cheap: it shares the backend's connections. Pass it to cache.New and
// run Cache.Run, which keeps the replica's indexes in sync with it.
func (b *Backend) Cache() cache.Store {
	switch {
	case b.embedded != nil:
		return embedded.NewCacheStore(b.embedded, nil)
	case b.redis != nil:
		return redisstore.NewCacheStore(b.redis, nil)
	case b.dynamo != nil:
		return dynamostore.NewCacheStore(b.dynamo, nil)
	default:
		return pgstore.NewCacheStore(b.postgres, nil)
	}
}
