package store

import (
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
)

// Flags returns the rollout flag store of the backend: the flag, its
// version and history, shared by every replica on the same Redis or
// PostgreSQL (with a pub/sub or LISTEN/NOTIFY change feed) or DynamoDB
// (whose watchers poll the flag's version), or kept in the
// embedded file for a single process. Stores are cheap and share the
// backend's connections and, for embedded, its change feed, so calling
// Flags twice gives two views of one flag.
//
// A Watch holds a connection until its ctx is done (on PostgreSQL, one of
// the pool's), so stop the Poller before Close: pgxpool's Close waits for
// every connection to come back.
func (b *Backend) Flags() rollout.FlagStore {
	switch {
	case b.embedded != nil:
		return embedded.NewFlagStore(b.embedded)
	case b.redis != nil:
		return redisstore.NewFlagStore(b.redis)
	case b.dynamo != nil:
		return dynamostore.NewFlagStore(b.dynamo)
	default:
		return pgstore.NewFlagStore(b.postgres)
	}
}
