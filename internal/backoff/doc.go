// Package backoff computes how long a retry of a failed upstream call waits:
// exponential delays with full jitter, or the upstream's own Retry-After
// hint. provider.Guard uses it between attempts; it imports nothing of Cato.
package backoff
