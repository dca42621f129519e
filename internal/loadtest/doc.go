// Package loadtest is the load generator behind `cato loadtest`: it sends a
// workload of chat or native queries to Cato (or any OpenAI-compatible
// endpoint) from outside the request path, at a fixed arrival rate (open
// loop) or from N concurrent users (closed loop), and reports throughput,
// HDR latency percentiles, stream timings, errors by kind and what Cato's
// response headers say (cache outcome, model, rollout side) as text, JSON
// and an HTML page with inline SVG plots.
package loadtest
