// Package redisstore keeps Cato's state in Redis (or Valkey, ElastiCache)
// so that replicas share it: sessions with server-side TTLs and Lua scripts
// for atomic appends, the rollout flag with a pub/sub change feed, and, as
// features add their files, cache entries and queues. Open returns the
// shared Client; each kind of state has its own file and constructor
// (sessions.go: NewSessionStore, rollout.go: NewFlagStore).
package redisstore
