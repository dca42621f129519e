// Package cachecodec is the byte encoding of semantic-cache entries and
// change-feed events for the stores that keep them as opaque values: the
// embedded bbolt file and Redis (internal/store/embedded, redisstore). It
// sits below cache.Store: entries are encoded on Put and decoded on List and
// on the change feed, never in the lookup path.
package cachecodec
