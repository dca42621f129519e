// Package pgstore keeps Cato's state in PostgreSQL through pgx, for
// replicas that share one database: sessions, the rollout flag (with a
// LISTEN/NOTIFY change feed), and, as features add their files, cache
// entries with pgvector embeddings, memories and queues. Open
// connects, applies the versioned migrations in migrations/ under an
// advisory lock, and detects pgvector; each kind of state has its own file
// and constructor (sessions.go: NewSessionStore, rollout.go: NewFlagStore).
package pgstore
