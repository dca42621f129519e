package store

import (
	"context"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
)

// Memory returns long-term memory's store and durable queue on the
// backend: the bbolt file with an in-process episode index (one process),
// Redis with a stream and consumer group for the queue (shared by
// replicas; episodes scanned in process), or PostgreSQL with a table
// claimed with FOR UPDATE SKIP LOCKED and pgvector's HNSW index where the
// server has pgvector (shared by replicas), or DynamoDB with a change
// committed by one conditional write and a queue leased by conditional
// updates (shared by replicas; episodes scanned in process). It shares the backend's
// connections; the embedded one reads its episode vectors when first
// built.
func (b *Backend) Memory(ctx context.Context, o memory.QueueOptions) (memory.Backend, error) {
	switch {
	case b.embedded != nil:
		return embedded.NewMemoryStore(b.embedded, o)
	case b.redis != nil:
		return redisstore.NewMemoryStore(ctx, b.redis, o)
	case b.dynamo != nil:
		return dynamostore.NewMemoryStore(b.dynamo, o), nil
	default:
		return pgstore.NewMemoryStore(ctx, b.postgres, o)
	}
}
