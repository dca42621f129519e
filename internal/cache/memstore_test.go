package cache_test

import (
	"testing"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
)

func TestMemoryStore(t *testing.T) {
	cachetest.Run(t, func(*testing.T) cache.Store { return cache.NewMemoryStore(nil) })
	cachetest.RunReplicas(t, func(*testing.T) (cache.Store, cache.Store) {
		s := cache.NewMemoryStore(nil)
		return s, s
	})
}
