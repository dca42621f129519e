// Package telemetry exports OpenTelemetry traces of Cato's requests over
// OTLP/HTTP. It sets up the tracer provider (New), starts the server span
// of each request and takes a W3C traceparent from it (Tracing.Handler),
// sends traceparent on to upstreams (Tracing.Transport), starts child
// spans only under a recorded parent (Start), and stamps trace and span
// ids on log records (LogHandler). With no endpoint configured none of it
// is installed, and the request path runs as if it did not exist.
package telemetry
