// Package metrics owns Cato's Prometheus registry and the names of every
// metric, and keeps the recent-latency window that /status reports p50 and
// p99 from. Every other package records through the Metrics value it is
// handed; nothing registers collectors globally.
package metrics
