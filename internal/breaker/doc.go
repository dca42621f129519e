// Package breaker is the per-model circuit breaker (closed, open, half_open)
// that provider.Guard consults before every upstream attempt, so that a model
// that keeps failing is left alone for a cool-down instead of being hammered.
// It imports nothing of Cato but the window its failure rate is counted in;
// callers decide which results count as failures.
package breaker
