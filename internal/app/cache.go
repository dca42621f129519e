package app

import (
	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/embed"
)

// newCache builds the semantic cache over store and schedules its
// synchronisation with the store (warm start, change feed, expiry sweep).
func (a *App) newCache(cfg *config.Config, emb embed.Embedder, store cache.Store) *cache.Cache {
	opts := cacheOptions(cfg.Cache)
	opts.Observe = func(ev cache.LookupEvent) {
		reason := ""
		if ev.Outcome == cache.Bypass {
			reason = string(ev.Reason)
		}
		a.metrics.Cache.WithLabelValues(ev.Outcome.String(), reason).Inc()
		a.metrics.CacheLookup.Observe(ev.Duration.Seconds())
		if ev.Outcome == cache.Hit {
			a.metrics.CacheSimilarity.Observe(float64(ev.Similarity))
		}
	}
	c := cache.New(emb, store, opts, a.reqLog.With("component", "cache"))
	a.background = append(a.background, c.Run)
	return c
}
