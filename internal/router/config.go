package router

// Defaults of a zero Config.
const (
	// DefaultComplexityThreshold splits the complexity score in the middle
	// of its range; testdata/labelled.jsonl is labelled against it.
	DefaultComplexityThreshold = 0.5
	// DefaultExemplarThreshold is the cosine similarity an exemplar route
	// needs: high enough that an unrelated query does not take the route.
	DefaultExemplarThreshold = 0.8
)

// Config says which model answers which query. Names are model names as
// the orchestrator knows them; the router does not check that they exist.
type Config struct {
	// Simple answers queries scored below ComplexityThreshold. Required.
	Simple string
	// Complex answers queries scored at or above ComplexityThreshold.
	// Empty means Simple.
	Complex string
	// HiddenStates answers every request that asks for hidden states.
	// Empty means there is no such rule: those requests are routed like
	// any other, and carry hidden states only if the chosen model gives
	// them.
	HiddenStates string
	// ComplexityThreshold is the score at or above which a query is
	// complex, in (0, 1]. Zero means DefaultComplexityThreshold.
	ComplexityThreshold float64
	// Domains routes a request's domain to a model.
	Domains map[string]string
	// Tenants routes every request of a tenant to a model.
	Tenants map[string]string
	// Fallbacks lists, per model, the models tried in order when it fails.
	Fallbacks map[string][]string
	// Exemplars are routes defined by example queries.
	Exemplars []Exemplar
	// NoDepthRoute turns off the built-in depth route (depth.go), which
	// sends short questions that need depth to Complex. False (the
	// default) keeps it whenever the router has an embedder.
	NoDepthRoute bool
}

// Exemplar is a route defined by example queries, matched by embedding
// similarity.
type Exemplar struct {
	// Name labels the route in a Decision's Reason.
	Name string
	// Model answers the queries the route matches.
	Model string
	// Examples are the queries that define the route; at least one.
	Examples []string
	// Threshold is the cosine similarity a query needs to one example.
	// Zero means DefaultExemplarThreshold.
	Threshold float64
}
