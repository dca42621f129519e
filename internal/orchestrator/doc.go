// Package orchestrator answers one request on the new side of the rollout:
// it loads the session's working memory, looks in the semantic cache, asks
// the router for a model, calls it through its guard with fallbacks, and
// saves what it learned. It knows nothing of HTTP; api calls it.
package orchestrator
