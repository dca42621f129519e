// Package embedded keeps Cato's state in one local bbolt file, for a single
// gateway process that needs no other server (the default store,
// embedded://.cato). Every write is a transaction synced to disk, so a crash
// loses nothing that was acknowledged. Each kind of state has its own
// buckets and its own file here (sessions.go); Open returns the shared DB.
package embedded
