package telemetry

import (
	"context"

	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of Cato's spans.
const Scope = "github.com/cato-gateway/cato"

// Options configure New. The zero value turns tracing off.
type Options struct {
	// Endpoint is the base URL of an OTLP/HTTP collector; spans are posted
	// to Endpoint/v1/traces. Empty takes the endpoint from Environ
	// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as a full URL, else
	// OTEL_EXPORTER_OTLP_ENDPOINT as a base URL); with neither, New
	// returns nil: tracing is off.
	Endpoint string
	// SampleRatio is the share of new traces sampled, from 0 to 1; a
	// request with a traceparent follows its caller's decision. Nil takes
	// OTEL_TRACES_SAMPLER_ARG when OTEL_TRACES_SAMPLER is (parentbased_)
	// traceidratio, else 1.
	SampleRatio *float64
	// ServiceVersion is the service.version of the resource.
	ServiceVersion string
	// Environ is the process environment (os.Environ()). Besides the keys
	// above, OTEL_SDK_DISABLED=true turns tracing off, and
	// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the resource.
	// The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, _TIMEOUT,
	// _COMPRESSION and _CERTIFICATE, and the batch processor OTEL_BSP_*,
	// from the process environment themselves.
	Environ []string
}

// Tracing is a running tracer provider and the propagator of W3C trace
// context. It is safe for concurrent use. A nil *Tracing is valid and
// traces nothing: its Handler and Transport return their argument.
type Tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	endpoint string
	ratio    float64
}

// New starts a tracer provider that batches spans to the collector o
// names. It returns nil and no error when no endpoint is configured.
// Shutdown flushes and stops it.
func New(ctx context.Context, o Options) (*Tracing, error) {
	env := envMap(o.Environ)
	if strings.EqualFold(env["OTEL_SDK_DISABLED"], "true") {
		return nil, nil
	}
	endpoint := tracesURL(o.Endpoint, env)
	if endpoint == "" {
		return nil, nil
	}
	ratio, err := sampleRatio(o.SampleRatio, env)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(attribute.String("service.name", "cato"), attribute.String("service.version", o.ServiceVersion)),
		fromEnv(env),
	)
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Tracing{
		provider: tp,
		tracer:   tp.Tracer(Scope),
		prop:     newPropagator(),
		endpoint: endpoint,
		ratio:    ratio,
	}, nil
}

// newPropagator is the propagator of W3C trace context (traceparent and
// tracestate).
func newPropagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Endpoint returns the URL spans are posted to.
func (t *Tracing) Endpoint() string { return t.endpoint }

// SampleRatio returns the ratio new traces are sampled at.
func (t *Tracing) SampleRatio() float64 { return t.ratio }

// Shutdown sends the spans still buffered and stops the provider, within
// ctx. It does nothing on a nil *Tracing.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// tracesURL is the URL spans go to: base/v1/traces for the configured
// base URL, else the environment's, else "".
func tracesURL(base string, env map[string]string) string {
	if base != "" {
		return strings.TrimSuffix(base, "/") + "/v1/traces"
	}
	if u := env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]; u != "" {
		return u
	}
	if u := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; u != "" {
		return strings.TrimSuffix(u, "/") + "/v1/traces"
	}
	return ""
}

// sampleRatio is the configured ratio, else the environment's, else 1.
func sampleRatio(configured *float64, env map[string]string) (float64, error) {
	if configured != nil {
		return *configured, nil
	}
	switch env["OTEL_TRACES_SAMPLER"] {
	case "traceidratio", "parentbased_traceidratio":
		arg := env["OTEL_TRACES_SAMPLER_ARG"]
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q is not a ratio between 0 and 1", arg)
		}
		return r, nil
	}
	return 1, nil
}

// fromEnv is the resource OTEL_RESOURCE_ATTRIBUTES (key=value,…) and
// OTEL_SERVICE_NAME describe; the latter wins, as the specification says.
func fromEnv(env map[string]string) *resource.Resource {
	var attrs []attribute.KeyValue
	for kv := range strings.SplitSeq(env["OTEL_RESOURCE_ATTRIBUTES"], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); ok && k != "" {
			attrs = append(attrs, attribute.String(k, strings.TrimSpace(v)))
		}
	}
	if n := env["OTEL_SERVICE_NAME"]; n != "" {
		attrs = append(attrs, attribute.String("service.name", n))
	}
	return resource.NewSchemaless(attrs...)
}

func envMap(environ []string) map[string]string {
	m := make(map[string]string)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OTEL_") {
			m[k] = v
		}
	}
	return m
}

// Handler returns next behind a server span per request, the child of
// the traceparent the request carries, if any. The span is named by the
// method until the API names its route (Route). Liveness and metrics
// scrapes are not traced: they would drown the traces that matter.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if untraced(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		if span.IsRecording() {
			span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path))
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func untraced(path string) bool {
	return path == "/metrics" || path == "/api/admin/cato/health"
}

// Transport returns rt sending the W3C traceparent of the span in each
// request's context; rt itself when t is nil.
func (t *Tracing) Transport(rt http.RoundTripper) http.RoundTripper {
	if t == nil {
		return rt
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &transport{next: rt, prop: t.prop}
}

type transport struct {
	next http.RoundTripper
	prop propagation.TextMapPropagator
}

// RoundTrip implements http.RoundTripper. It clones the request only when
// there is a trace context to add, since a RoundTripper must not change
// the request it is given.
func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		r = r.Clone(r.Context())
		t.prop.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
	}
	return t.next.RoundTrip(r)
}

// Unwrap returns the wrapped RoundTripper.
func (t *transport) Unwrap() http.RoundTripper { return t.next }

// CloseIdleConnections closes the idle connections of the wrapped
// RoundTripper, when it keeps any, so that http.Client.CloseIdleConnections
// still reaches them.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
