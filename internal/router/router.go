package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
)

// DefaultDomain is the Domain of a Decision whose Input named none.
const DefaultDomain = "general"

// embedder is implemented by embed.Embedder (the local word-vector
// embedder and the provider-backed ones).
type embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Router decides which model answers a query. Its rules apply in this
// order, the first that matches wins:
//
//  1. the request asks for hidden states → Config.HiddenStates (only that
//     model can give them), when set;
//  2. a tenant rule (Config.Tenants);
//  3. a domain rule (Config.Domains);
//  4. an exemplar route whose examples are similar enough to the query
//     (Config.Exemplars; skipped without an embedder);
//  5. the complexity score against Config.ComplexityThreshold:
//     Config.Simple below it, Config.Complex at or above it; a query scored
//     simple that is similar enough to a built-in depth example (depth.go:
//     "Why did the Soviet Union collapse?", "Design Uber."), and nearer
//     to it than to any built-in shallow example ("Why is the sky
//     blue?"), goes to Config.Complex, unless Config.NoDepthRoute is set
//     or there is no embedder.
//
// The complexity score is computed for every decision, so that it can be
// seen whichever rule chose. The fallback chain is Config.Fallbacks of the
// chosen model. A Router is immutable after New and safe for concurrent use.
type Router struct {
	cfg       Config
	emb       embedder // nil: exemplars are skipped
	exemplars []exemplarRoute
	depth     *depthRoute // the built-in depth route; nil when off
	log       *slog.Logger
}

// New returns a Router for cfg, its zero fields defaulted as Config says;
// it fails when cfg.Simple is empty. emb embeds the exemplar routes'
// examples now and each query at Decide; nil skips exemplar routes.
func New(ctx context.Context, cfg Config, emb embedder, log *slog.Logger) (*Router, error) {
	if cfg.Simple == "" {
		return nil, errors.New("no model for simple queries: Config.Simple is empty")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ComplexityThreshold == 0 {
		cfg.ComplexityThreshold = DefaultComplexityThreshold
	}
	cfg.Complex = cmpOr(cfg.Complex, cfg.Simple)
	r := &Router{cfg: cfg, log: log}
	// One call embeds the configured routes' examples and the depth
	// route's depth and shallow examples, which come last.
	routes := slices.Clip(cfg.Exemplars)
	depth := emb != nil && !cfg.NoDepthRoute && cfg.Complex != cfg.Simple
	if depth {
		routes = append(routes,
			Exemplar{Name: depthRouteName, Model: cfg.Complex, Examples: depthExamples, Threshold: DefaultDepthThreshold},
			Exemplar{Name: "shallow", Model: cfg.Simple, Examples: shallowExamples, Threshold: 1})
	}
	if emb != nil && len(routes) > 0 {
		ex, err := embedExemplars(ctx, emb, routes)
		if err != nil {
			return nil, err
		}
		r.emb, r.exemplars = emb, ex
		if depth {
			n := len(ex) - 2
			r.exemplars = ex[:n]
			r.depth = &depthRoute{model: cfg.Complex, threshold: DefaultDepthThreshold, margin: DefaultDepthMargin, deep: ex[n].vectors, shallow: ex[n+1].vectors}
		}
	}
	return r, nil
}

// Decide returns the routing decision for in. It does not fail: when the
// query cannot be embedded, exemplar routes are skipped and the failure is
// logged. The error result is for the orchestrator's interface and is
// always nil.
func (r *Router) Decide(ctx context.Context, in Input) (Decision, error) {
	sc := complexity(in.Query, in.History)
	d := Decision{Complexity: math.Round(sc.value*100) / 100, Domain: cmpOr(in.Domain, DefaultDomain)}
	switch {
	case in.HiddenStates && r.cfg.HiddenStates != "":
		d.Primary, d.Rule, d.Reason = r.cfg.HiddenStates, RuleHiddenStates, "hidden states requested"
	case r.cfg.Tenants[in.Tenant] != "" && in.Tenant != "":
		d.Primary, d.Rule, d.Reason = r.cfg.Tenants[in.Tenant], RuleTenant, "tenant rule: "+in.Tenant
	case r.cfg.Domains[d.Domain] != "":
		d.Primary, d.Rule, d.Reason = r.cfg.Domains[d.Domain], RuleDomain, "domain rule: "+d.Domain
	default:
		if m, reason, ok := r.match(ctx, r.exemplars, in.Query); ok {
			d.Primary, d.Rule, d.Reason = m, RuleExemplar, reason
			break
		}
		d.Primary, d.Rule, d.Reason = r.byComplexity(sc, d.Complexity)
		if d.Rule == RuleSimple && r.depth != nil && sc.simple != smallTalk && !asksForFact(in.Query) {
			if reason, ok := r.depth.match(ctx, r, depthText(in.Query)); ok {
				d.Primary, d.Rule, d.Reason = r.depth.model, RuleExemplar, reason
			}
		}
	}
	d.Fallbacks = r.fallbacks(d.Primary)
	return d, nil
}

// byComplexity picks the simple or complex tier and explains why.
func (r *Router) byComplexity(sc score, rounded float64) (model, rule, reason string) {
	if sc.value >= r.cfg.ComplexityThreshold {
		return r.cfg.Complex, RuleComplex, fmt.Sprintf("complex query (%.2f ≥ %.2f): %s", rounded, r.cfg.ComplexityThreshold, strongest(sc.signals, 3))
	}
	if sc.simple != "" {
		return r.cfg.Simple, RuleSimple, sc.simple
	}
	why := "no strong cues"
	if len(sc.signals) > 0 {
		why = "only " + strongest(sc.signals, 2)
	}
	return r.cfg.Simple, RuleSimple, fmt.Sprintf("simple query (%.2f < %.2f): %s", rounded, r.cfg.ComplexityThreshold, why)
}

// fallbacks returns the fallback chain of model, without model itself or
// repeats; never nil.
func (r *Router) fallbacks(model string) []string {
	out := []string{}
	for _, m := range r.cfg.Fallbacks[model] {
		if m != model && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// strongest names the n heaviest signals, heaviest first.
func strongest(signals []signal, n int) string {
	s := slices.Clone(signals)
	slices.SortStableFunc(s, func(a, b signal) int {
		switch {
		case a.weight > b.weight:
			return -1
		case a.weight < b.weight:
			return 1
		}
		return 0
	})
	names := make([]string, 0, n)
	for _, sg := range s[:min(n, len(s))] {
		names = append(names, sg.name)
	}
	return strings.Join(names, ", ")
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
