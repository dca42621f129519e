// Package simulated is the provider for models of type simulated: it calls
// the simulator's engine in process, with the engine's latency, pacing and
// faults, so that `cato serve` works with no model endpoint at all.
package simulated
