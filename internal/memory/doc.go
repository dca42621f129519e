// Package memory is Cato's long-term memory: every interaction is kept as
// an episode, searchable by meaning per tenant and user, and consolidated
// into facts (subject, predicate, object) whose contradictions are
// resolved, newest first. On the request path the orchestrator recalls the
// user's relevant facts and episodes into the prompt before the model call
// and hands the finished exchange to a Recorder, which costs a channel
// send; workers owned by app's errgroup drain the durable queue (Queue)
// into the store (Store) off the request path. Stores live in
// internal/store; this package knows no driver. See docs/memory.md.
package memory
