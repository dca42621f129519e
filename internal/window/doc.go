// Package window counts what happened over a sliding span of time, in a
// fixed number of buckets: the breaker's failure rate and the rollout
// guard's error rate and latency each read one. It imports nothing of Cato.
package window
