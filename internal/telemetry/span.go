package telemetry

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Start starts a span named name as a child of the span in ctx, with the
// tracer that made the parent. When the parent is not recorded (tracing
// off, or a trace not sampled) it starts nothing and allocates nothing:
// it returns ctx and a span whose methods do nothing, so callers set
// attributes under `if span.IsRecording()`.
func Start(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noSpan
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name)
}

// Start is the package's Start with t's tracer, which it holds, rather
// than the parent's provider's, which takes a lock to look up.
func (t *Tracing) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	if t == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noSpan
	}
	return t.tracer.Start(ctx, name)
}

// noSpan is a span that records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// Recording reports whether ctx carries a span that is recorded.
func Recording(ctx context.Context) bool { return trace.SpanFromContext(ctx).IsRecording() }

// Route names the server span of ctx after the route that serves it
// ("POST /v1/chat/completions"), when it is recorded.
func Route(ctx context.Context, method, route string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetName(method + " " + route)
	span.SetAttributes(attribute.String("http.route", route))
}

// Set adds attributes to the span of ctx when it is recorded.
func Set(ctx context.Context, attrs ...attribute.KeyValue) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrs...)
	}
}

// Status records the HTTP status a server span answered with; 5xx marks
// the span as failed. Zero is a client that went away before an answer
// (Cato's 499).
func Status(ctx context.Context, status int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if status == 0 {
		status = 499
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
}

// Fail marks span as failed, described by reason: a short code such as
// "timeout" or "rate_limited", never an error's text, which may quote a
// request.
func Fail(span trace.Span, reason string) {
	if span.IsRecording() {
		span.SetStatus(codes.Error, reason)
		span.SetAttributes(attribute.String("error.type", reason))
	}
}
