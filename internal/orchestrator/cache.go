package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/router"
)

// lookup asks the semantic cache for q, whose prompt used memory when
// usedMemory is set. Requests the cache must not serve (see docs/cache.md)
// come back as a bypass, and so does every request when there is no cache
// or the lookup failed: the request goes on.
func (o *Orchestrator) lookup(ctx context.Context, q *Query, usedMemory bool) cache.Result {
	if o.opt.Cache == nil {
		return cache.Result{Outcome: cache.Bypass, Reason: cache.ReasonDisabled}
	}
	if o.opt.Cache.Off() {
		// Counted as a bypass like any other, without hashing a scope
		// that no lookup will use (10 allocations: BenchmarkProxy).
		r, _ := o.opt.Cache.Lookup(ctx, cache.Query{Disabled: true})
		return r
	}
	cq := cache.QueryFor(q.Request, cache.ScopeOf(q.Tenant, q.Request, q.Domain))
	cq.SessionID = q.SessionID
	// A shadow request must leave nothing behind, and a cached answer has
	// no hidden states.
	cq.Disabled = (q.Cache != nil && !*q.Cache) || q.Shadow || q.Request.HiddenStates
	cq.SessionMemory = usedMemory
	r, err := o.opt.Cache.Lookup(ctx, cq)
	if err != nil {
		o.opt.Log.WarnContext(ctx, "semantic cache lookup failed; answering without it", "err", err)
	}
	return r
}

// storeTimeout bounds a cache write on the request path.
const storeTimeout = 250 * time.Millisecond

// store saves r, a complete answer, when t's lookup missed. A store that
// is down must not hold the answer back: the write has storeTimeout, and
// after a failure writes are skipped until the cache store's guard tries
// the store again.
func (o *Orchestrator) store(ctx context.Context, t *turn, r reply) {
	if o.opt.Cache == nil || t.cache.Outcome != cache.Miss || t.q.Shadow {
		return
	}
	err := o.cacheStore.call(ctx, func(ctx context.Context) error {
		_, err := o.opt.Cache.Put(ctx, t.cache, cache.Answer{Text: r.text, Model: r.model, Usage: r.usage})
		return err
	})
	// Skipped writes are not logged one by one: the guard logged the store
	// going down.
	if err != nil && !errors.Is(err, errStoreDown) {
		o.opt.Log.WarnContext(ctx, "semantic cache put failed", "err", err)
	}
}

// cacheable reports whether an answer may be stored: complete, and not a
// request for tool calls.
func cacheable(finish string, toolCalls int) bool {
	return (finish == llm.FinishStop || finish == "") && toolCalls == 0
}

func cachedResponse(e *cache.Entry) *llm.Response {
	return &llm.Response{
		ID:           "cache-" + e.ID,
		Message:      llm.Message{Role: llm.RoleAssistant, Content: e.Answer},
		FinishReason: llm.FinishStop,
		Usage:        e.Usage,
	}
}

func cachedDecision(r cache.Result) router.Decision {
	return router.Decision{
		Primary: r.Entry.Model, Fallbacks: []string{}, Domain: r.Entry.Scope.Domain,
		Reason: fmt.Sprintf("semantic cache hit (similarity %.2f)", r.Similarity), Rule: "cache",
	}
}

// PurgeCache deletes the cache entries of tenant and model (an empty value
// matches every one) on every replica and returns how many there were.
func (o *Orchestrator) PurgeCache(ctx context.Context, tenant, model string) (int, error) {
	if o.opt.Cache == nil {
		return 0, nil
	}
	n, err := o.opt.Cache.Purge(ctx, cache.Filter{Tenant: tenant, Model: model})
	if err != nil {
		return n, fmt.Errorf("%w: purging the cache: %w", ErrStoreUnavailable, err)
	}
	return n, nil
}
