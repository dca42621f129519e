package router

import (
	"context"
	"fmt"
	"log/slog"
	"math"
)

// exemplarRoute is a route defined by example queries, their embeddings
// normalised to unit length.
type exemplarRoute struct {
	name      string
	model     string
	threshold float64
	vectors   [][]float32
}

// embedExemplars embeds every example of every route in one call.
func embedExemplars(ctx context.Context, emb embedder, exemplars []Exemplar) ([]exemplarRoute, error) {
	var texts []string
	for _, e := range exemplars {
		texts = append(texts, e.Examples...)
	}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("embedding exemplar routes: %w", err)
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("embedding exemplar routes: got %d vectors for %d examples", len(vecs), len(texts))
	}
	routes := make([]exemplarRoute, 0, len(exemplars))
	for _, e := range exemplars {
		th := e.Threshold
		if th == 0 {
			th = DefaultExemplarThreshold
		}
		r := exemplarRoute{name: e.Name, model: e.Model, threshold: th}
		for range e.Examples {
			r.vectors = append(r.vectors, unit(vecs[0]))
			vecs = vecs[1:]
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// match returns the model of the route of routes most similar to query,
// if it clears that route's threshold.
func (r *Router) match(ctx context.Context, routes []exemplarRoute, query string) (model, reason string, ok bool) {
	if r.emb == nil || len(routes) == 0 || query == "" {
		return "", "", false
	}
	vecs, err := r.emb.Embed(ctx, []string{query})
	if err != nil || len(vecs) != 1 {
		r.log.WarnContext(ctx, "exemplar routes skipped: embedding the query failed", slog.Any("err", err))
		return "", "", false
	}
	q := unit(vecs[0])
	best, bestSim := -1, 0.0
	for i, route := range routes {
		for _, v := range route.vectors {
			if sim := dot(q, v); sim >= route.threshold && sim > bestSim {
				best, bestSim = i, sim
			}
		}
	}
	if best < 0 {
		return "", "", false
	}
	route := routes[best]
	return route.model, fmt.Sprintf("exemplar route %s (similarity %.2f)", route.name, bestSim), true
}

func unit(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	norm := math.Sqrt(sum)
	for i, x := range v {
		out[i] = float32(float64(x) / norm)
	}
	return out
}

// dot is the cosine similarity of two unit vectors; vectors of different
// lengths (a misconfigured embedder) are not similar.
func dot(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
