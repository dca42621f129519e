package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/router"
)

// ErrModelNotFound is returned when a request names a model that is not
// configured.
var ErrModelNotFound = errors.New("model not found")

// Auto names the router's choice; "cato" is accepted as a synonym.
const Auto = "auto"

// decider is implemented by router.Router.
type decider interface {
	Decide(ctx context.Context, in router.Input) (router.Decision, error)
}

// Options are an Orchestrator's collaborators. Models and Router are
// required.
type Options struct {
	// Models are the chat models by name, each already guarded (breaker,
	// retries, timeout).
	Models map[string]provider.Provider
	// Fallbacks lists, per model, the models tried in order when it fails.
	Fallbacks map[string][]string
	Router    decider
	// Cost prices a call's usage for a model in US dollars; nil means free.
	Cost    func(model string, u llm.Usage) float64
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Orchestrator answers queries. It is safe for concurrent use.
type Orchestrator struct {
	opt Options
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
	return &Orchestrator{opt: opt}
}

// Query is one request to answer.
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
}

// Answer is the outcome of Answer.
type Answer struct {
	Response     *llm.Response
	Model        string
	FallbackUsed bool
	Cached       bool
	Routing      router.Decision
	CostUSD      float64
	Latency      time.Duration
	// Degraded names what could not be used (for example "session_store").
	Degraded []string
}

// Models reports whether name is a configured chat model.
func (o *Orchestrator) HasModel(name string) bool {
	_, ok := o.opt.Models[name]
	return ok
}

// Route returns the routing decision for q without calling a model.
func (o *Orchestrator) Route(ctx context.Context, q *Query) (router.Decision, error) {
	model := q.Request.Model
	if model != "" && model != Auto && model != "cato" {
		if _, ok := o.opt.Models[model]; !ok {
			return router.Decision{}, fmt.Errorf("%w: %q", ErrModelNotFound, model)
		}
		return router.Decision{Primary: model, Fallbacks: o.opt.Fallbacks[model], Domain: q.Domain, Reason: "model requested by the client"}, nil
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
	return d, nil
}

// Answer answers q with one complete response.
func (o *Orchestrator) Answer(ctx context.Context, q *Query) (*Answer, error) {
	start := time.Now()
	d, err := o.Route(ctx, q)
	if err != nil {
		return nil, err
	}
	chain := append([]string{d.Primary}, d.Fallbacks...)
	var lastErr error
	for i, name := range chain {
		p, ok := o.opt.Models[name]
		if !ok {
			continue
		}
		req := *q.Request
		req.Model = name
		resp, err := p.Chat(ctx, &req)
		if err != nil {
			o.opt.Metrics.RecordError(name)
			lastErr = err
			if ctx.Err() != nil || !fallbackable(err) {
				return nil, err
			}
			continue
		}
		cost := o.opt.Cost(name, resp.Usage)
		o.opt.Metrics.RecordCall(name, resp.Usage, cost)
		if i > 0 {
			o.opt.Metrics.Fallbacks.WithLabelValues(d.Primary, name).Inc()
		}
		return &Answer{
			Response: resp, Model: name, FallbackUsed: i > 0, Routing: d,
			CostUSD: cost, Latency: time.Since(start),
		}, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: %q", ErrModelNotFound, d.Primary)
	}
	return nil, lastErr
}

// fallbackable reports whether another model may succeed where one failed.
func fallbackable(err error) bool {
	return provider.IsRetryable(err)
}
