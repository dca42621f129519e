// Package cache is the semantic cache of the request path: after working
// memory is loaded and before the router runs, the orchestrator asks Lookup
// for a stored answer to an equivalent question in the same scope (tenant,
// model, system prompt, domain), and after a miss it stores the model's
// answer with Put. Questions it must not serve are bypassed (see
// docs/cache.md). Entries live in a Store shared by replicas; each replica
// keeps its own vector indexes in sync through the store's change feed.
package cache
