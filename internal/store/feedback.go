package store

import (
	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
)

// Feedback returns the feedback store of the backend: remembered answers
// and their ratings, shared by every replica on the same Redis, PostgreSQL
// or DynamoDB table. Stores are cheap: they share the backend's
// connections.
func (b *Backend) Feedback(o feedback.StoreOptions) feedback.Store {
	switch {
	case b.embedded != nil:
		return embedded.NewFeedbackStore(b.embedded, o)
	case b.redis != nil:
		return redisstore.NewFeedbackStore(b.redis, o)
	case b.postgres != nil:
		return pgstore.NewFeedbackStore(b.postgres, o)
	case b.dynamo != nil:
		return dynamostore.NewFeedbackStore(b.dynamo, o)
	}
	panic("store: Feedback of a backend that is not open")
}
