// Package dynamostore keeps Cato's shared state in Amazon DynamoDB (or a
// server that speaks its protocol, such as dynalite): working-memory
// sessions, the rollout flag and its history, semantic-cache entries with
// a change feed, long-term memory with its consolidation queue, client
// keys with their counters, and feedback.
// internal/store opens it for a dynamodb:// store URL; replicas pointed at
// the same table share everything.
//
// Everything lives in one table (single-table design, key pk/sk, both
// strings) that Open creates when it is missing; db.go documents the key
// layout and docs/stores.md the costs.
package dynamostore
