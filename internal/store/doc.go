// Package store opens the backend named by the store: URL of the
// configuration (embedded://, redis://, postgres://, dynamodb://) and
// hands out the stores the domain packages need, such as the
// session.Store of working memory. The composition root (internal/app)
// calls Open once at start and Close at shutdown; the implementations
// live in embedded, redisstore, pgstore and dynamostore.
package store
