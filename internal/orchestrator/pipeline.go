package orchestrator

import (
	"context"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/router"
)

// A query goes through the same three steps whether it is answered whole
// (Answer) or streamed (Stream):
//
//  1. prepare: refuse a model that is not configured, assemble the prompt
//     (the session's context), look in the semantic cache, and route
//     unless the cache answers;
//  2. the answer: the cached entry, or the chain of models called through
//     Caller.Chat or Caller.ChatStream. Only this step differs between
//     Answer and Stream;
//  3. finish: count the call's usage and cost, store a complete answer in
//     the cache, and remember the exchange in the session.
//
// Long-term memory plugs into the two ends: its recall is in assemble
// (what it adds to the prompt sets prompt.usedMemory, so the cache stays
// out of the way), and the enqueue of the exchange for consolidation is in
// remember, beside the session's turn (memory.go).

// turn is one query on its way through the pipeline: what prepare decided,
// for the answer step and for finish. finish adds to degraded.
type turn struct {
	q      *Query
	prompt prompt
	cache  cache.Result
	// route is the routing decision, or the cache's account of a hit.
	route router.Decision
	// degraded names what could not be used (for example "session_store").
	degraded []string
}

// cached reports whether the cache answers the turn.
func (t *turn) cached() bool { return t.cache.Outcome == cache.Hit }

// prompt is the request to send and what went into it.
type prompt struct {
	req *llm.Request
	// usedMemory reports that memory went into req (the session's turns or
	// summary, recalled facts or episodes): the answer depends on it, so
	// the cache neither serves nor stores it (docs/cache.md,
	// session_memory).
	usedMemory bool
}

// reply is what answered a turn, as finish needs it.
type reply struct {
	model        string
	text         string
	usage        llm.Usage
	finishReason string
	toolCalls    int
	fallbackUsed bool
	// complete reports that the whole answer arrived.
	complete bool
	// brokeOff reports that the model cut a stream short (a client that
	// went away is not the model's failure).
	brokeOff bool
}

// reasonModelNotAllowed is the bypass of a cached answer by a model the
// key may not use.
const reasonModelNotAllowed cache.Reason = "model_not_allowed"

// prepare takes q through the steps before the answer. An error refuses q:
// an unknown model, an invalid session id, a routing failure. A store that
// cannot be reached only degrades the answer.
func (o *Orchestrator) prepare(ctx context.Context, q *Query) (turn, error) {
	if err := o.checkModel(q); err != nil {
		return turn{}, err // an unknown model is refused before the cache is asked
	}
	t := turn{q: q}
	var err error
	if t.prompt, t.degraded, err = o.assemble(ctx, q); err != nil {
		return turn{}, err
	}
	t.cache = o.lookup(ctx, q, t.prompt.usedMemory)
	if t.cached() && !q.allows(t.cache.Entry.Model) {
		t.cache = cache.Result{Outcome: cache.Bypass, Reason: reasonModelNotAllowed}
	}
	if t.cached() {
		t.route = cachedDecision(t.cache)
		return t, nil
	}
	if t.route, err = o.route(ctx, q); err != nil {
		return turn{}, err
	}
	o.opt.Metrics.Routes.WithLabelValues(t.route.Primary, t.route.Rule).Inc()
	return t, nil
}

// assemble builds the prompt: q.Request with the session's context added
// (see docs/sessions.md for the rule) and what long-term memory recalls
// (docs/memory.md), or q.Request itself.
func (o *Orchestrator) assemble(ctx context.Context, q *Query) (prompt, []string, error) {
	p := prompt{req: q.Request}
	msgs, degraded, err := o.sessionContext(ctx, q)
	if err != nil {
		return prompt{}, nil, err
	}
	if msgs != nil {
		req := *q.Request
		req.Messages = msgs
		p.req, p.usedMemory = &req, true
	}
	note, recallDegraded := o.recall(ctx, q)
	degraded = append(degraded, recallDegraded...)
	if note != "" {
		req := *p.req
		req.Messages = withNote(p.req.Messages, note)
		p.req, p.usedMemory = &req, true
	}
	return p, degraded, nil
}

// finish ends a turn once its answer is known, complete or not: it
// remembers a complete exchange, counts the call (its usage and cost, or
// the error of a stream the model broke off) and stores a complete,
// cacheable answer in the cache. It returns the call's cost, zero for a
// cached answer, and adds what it could not do to t.degraded.
func (o *Orchestrator) finish(ctx context.Context, t *turn, r reply) float64 {
	if r.complete {
		o.remember(ctx, t, r)
	}
	if t.cached() {
		return 0
	}
	var cost float64
	switch {
	case r.complete:
		cost = o.opt.Cost(r.model, r.usage)
		o.opt.Metrics.RecordCall(r.model, r.usage, cost)
		if cacheable(r.finishReason, r.toolCalls) {
			o.store(ctx, t, r)
		}
	case r.brokeOff:
		o.opt.Metrics.RecordError(r.model)
	}
	if r.fallbackUsed {
		o.opt.Metrics.Fallbacks.WithLabelValues(t.route.Primary, r.model).Inc()
	}
	return cost
}

// remember saves a complete exchange: the session's turn, and the
// interaction for long-term memory. A failure only degrades the answer.
func (o *Orchestrator) remember(ctx context.Context, t *turn, r reply) {
	t.degraded = append(t.degraded, o.record(ctx, t.q, r.text, r.model)...)
	o.enqueue(t, r)
}
