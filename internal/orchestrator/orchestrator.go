package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/router"
)

// ErrModelNotFound is returned when a request names a model that is not
// configured.
var ErrModelNotFound = errors.New("model not found")

// ErrModelNotAllowed is returned when the client's key may not use the
// model a request names, or, for Auto, any model of the router's choice
// and its fallbacks.
var ErrModelNotAllowed = errors.New("model not allowed for this key")

// Auto names the router's choice; "cato" is accepted as a synonym.
const Auto = "auto"

// decider is implemented by router.Router.
type decider interface {
	Decide(ctx context.Context, in router.Input) (router.Decision, error)
}

// caller is implemented by provider.Fallback: it asks a chain of guarded
// models in order.
type caller interface {
	Chat(ctx context.Context, chain []string, req *llm.Request) (provider.Answer, error)
	ChatStream(ctx context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error)
}

// semanticCache is implemented by cache.Cache.
type semanticCache interface {
	Lookup(ctx context.Context, q cache.Query) (cache.Result, error)
	Put(ctx context.Context, r cache.Result, ans cache.Answer) (cache.Entry, error)
	Purge(ctx context.Context, f cache.Filter) (int, error)
	// Off reports a cache configured off: every lookup is a bypass.
	Off() bool
}

// Options are an Orchestrator's collaborators. Models, Caller and Router
// are required.
type Options struct {
	// Models names the chat models a request may ask for.
	Models []string
	// Caller calls a chain of models with fallback.
	Caller caller
	// Fallbacks lists, per model, the models tried in order when it fails.
	Fallbacks map[string][]string
	Router    decider
	// Cache is the semantic cache; nil means none.
	Cache semanticCache
	// Sessions is working memory; nil means requests carry no session
	// state.
	Sessions workingMemory
	// Responses keeps stored Responses API answers (previous_response_id);
	// nil means none are kept.
	Responses responseStore
	// Memory is long-term memory; nil means none: nothing is recalled or
	// recorded.
	Memory longTermMemory
	// Forget deletes what a session left behind beyond its turns (cache
	// entries, long-term memories); ForgetSession calls it. Nil means
	// nothing.
	Forget func(ctx context.Context, tenant, sessionID string) error
	// Cost prices a call's usage for a model in US dollars; nil means free.
	Cost    func(model string, u llm.Usage) float64
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// StoreRetryAfter is how long after a failed cache write or recall
	// those calls are skipped (the store is taken for down) before one
	// request tries the store again. Zero means 1s.
	StoreRetryAfter time.Duration
	// Now is the clock of the store guards; nil means time.Now.
	Now func() time.Time
}

// Orchestrator answers queries. It is safe for concurrent use.
type Orchestrator struct {
	opt    Options
	models map[string]bool
	// cacheStore and memoryStore make a cache or long-term memory store
	// that is down cost the request path nothing after its first failure.
	cacheStore, memoryStore *storeGuard
}

// New returns an orchestrator.
func New(opt Options) *Orchestrator {
	if opt.Cost == nil {
		opt.Cost = func(string, llm.Usage) float64 { return 0 }
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.StoreRetryAfter <= 0 {
		opt.StoreRetryAfter = defaultStoreRetryAfter
	}
	o := &Orchestrator{opt: opt, models: map[string]bool{},
		cacheStore:  newStoreGuard("cache_store", storeTimeout, opt.StoreRetryAfter, opt.Now, opt.Log),
		memoryStore: newStoreGuard(degradedMemory, recallTimeout, opt.StoreRetryAfter, opt.Now, opt.Log),
	}
	for _, m := range opt.Models {
		o.models[m] = true
	}
	return o
}

// Query is one request to answer. The orchestrator does not modify it.
type Query struct {
	Tenant    string
	User      string
	SessionID string
	// Request is the chat request; its Model is a configured model name or
	// Auto.
	Request *llm.Request
	Domain  string
	// Cache and Memory are the caller's wishes; nil means the default (on).
	Cache  *bool
	Memory *bool
	// Shadow marks a mirrored request: it is answered, but leaves no state
	// behind (no session, cache or memory writes).
	Shadow bool
	// Models lists the models the client's key may use; nil means any.
	// A named model outside it is refused (ErrModelNotAllowed); for Auto,
	// the router's choice and its fallbacks are kept to it, in order, the
	// first allowed one becoming the primary; a cached answer of another
	// model is not served.
	Models []string
}

// allows reports whether q's key may use model.
func (q *Query) allows(model string) bool {
	return q.Models == nil || slices.Contains(q.Models, model)
}

// Answer is the outcome of Answer.
type Answer struct {
	Response     *llm.Response
	Model        string
	FallbackUsed bool
	Cached       bool
	// CacheOutcome is hit, miss or bypass.
	CacheOutcome string
	Routing      router.Decision
	CostUSD      float64
	Latency      time.Duration
	// Degraded names what could not be used (for example "session_store").
	Degraded []string
}

// checkModel refuses a request for a model that is not configured.
func (o *Orchestrator) checkModel(q *Query) error {
	m := q.Request.Model
	if IsAuto(m) {
		return nil
	}
	if !o.models[m] {
		return fmt.Errorf("%w: %q", ErrModelNotFound, m)
	}
	if !q.allows(m) {
		return fmt.Errorf("%w: %q", ErrModelNotAllowed, m)
	}
	return nil
}

// IsAuto reports whether a request's model asks Cato to route: Auto,
// "cato" or empty.
func IsAuto(model string) bool { return model == "" || model == Auto || model == "cato" }

// Route returns the routing decision for q without calling a model.
func (o *Orchestrator) Route(ctx context.Context, q *Query) (router.Decision, error) {
	if err := o.checkModel(q); err != nil {
		return router.Decision{}, err
	}
	return o.route(ctx, q)
}

// route decides which models answer q, in order: the model the client
// named with its fallbacks, else the router's choice.
func (o *Orchestrator) route(ctx context.Context, q *Query) (router.Decision, error) {
	if model := q.Request.Model; !IsAuto(model) {
		fb := o.opt.Fallbacks[model]
		if fb == nil {
			fb = []string{}
		}
		return router.Decision{Primary: model, Fallbacks: fb, Domain: q.Domain, Reason: "model requested by the client", Rule: "requested"}, nil
	}
	in := router.Input{
		Query:        q.Request.LastUserText(),
		History:      len(q.Request.Messages) - 1,
		Domain:       q.Domain,
		Tenant:       q.Tenant,
		HiddenStates: q.Request.HiddenStates,
	}
	d, err := o.opt.Router.Decide(ctx, in)
	if err != nil {
		return router.Decision{}, fmt.Errorf("routing: %w", err)
	}
	return keepAllowed(q, d)
}

// keepAllowed keeps the models of an Auto decision that q's key may use,
// in order; the first of them becomes the primary.
func keepAllowed(q *Query, d router.Decision) (router.Decision, error) {
	if q.Models == nil {
		return d, nil
	}
	var chain []string
	for _, m := range chainOf(d) {
		if q.allows(m) && !slices.Contains(chain, m) {
			chain = append(chain, m)
		}
	}
	if len(chain) == 0 {
		return router.Decision{}, fmt.Errorf("%w: the router chose %s and no fallback the key may use", ErrModelNotAllowed, d.Primary)
	}
	if chain[0] != d.Primary {
		d.Reason += "; " + d.Primary + " is not allowed for this key"
	}
	d.Primary, d.Fallbacks = chain[0], chain[1:]
	return d, nil
}

// Answer answers q with one complete response, through the pipeline of
// pipeline.go: prepare, the cached answer or a call down the chain, finish.
func (o *Orchestrator) Answer(ctx context.Context, q *Query) (*Answer, error) {
	start := time.Now()
	t, err := o.prepare(ctx, q)
	if err != nil {
		return nil, err
	}
	var resp *llm.Response
	var r reply
	if t.cached() {
		resp, r.model = cachedResponse(t.cache.Entry), t.cache.Entry.Model
	} else {
		a, err := o.opt.Caller.Chat(ctx, chainOf(t.route), t.prompt.req)
		o.countFailures(a.Failures)
		if err != nil {
			return nil, err
		}
		resp, r.model, r.fallbackUsed = a.Response, a.Model, a.FallbackUsed
	}
	r.text, r.usage, r.finishReason, r.toolCalls = resp.Message.Content, resp.Usage, resp.FinishReason, len(resp.Message.ToolCalls)
	r.complete = true
	cost := o.finish(ctx, &t, r)
	return &Answer{
		Response: resp, Model: r.model, FallbackUsed: r.fallbackUsed, Cached: t.cached(), Routing: t.route,
		CacheOutcome: t.cache.Outcome.String(), CostUSD: cost, Latency: time.Since(start), Degraded: t.degraded,
	}, nil
}

func chainOf(d router.Decision) []string {
	return append([]string{d.Primary}, d.Fallbacks...)
}

func (o *Orchestrator) countFailures(fs []provider.ModelFailure) {
	for _, f := range fs {
		o.opt.Metrics.RecordError(f.Model)
	}
}
