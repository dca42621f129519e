// Package orchestrator answers one request on the new side of the rollout.
// Answer and Stream share one pipeline (pipeline.go): prepare loads the
// session's working memory into the prompt, looks in the semantic cache
// and asks the router for a model; the answer comes from the cache or from
// the guarded models with fallbacks; finish counts the cost and saves what
// was learnt. It knows nothing of HTTP; api calls it.
package orchestrator
