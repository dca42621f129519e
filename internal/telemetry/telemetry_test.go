package telemetry

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

func TestNew(t *testing.T) {
	half := 0.5
	tests := []struct {
		name      string
		opt       Options
		wantURL   string // "": tracing off
		wantRatio float64
		wantErr   bool
	}{
		{name: "off without an endpoint"},
		{name: "base URL from config", opt: Options{Endpoint: "http://otel:4318/"}, wantURL: "http://otel:4318/v1/traces", wantRatio: 1},
		{name: "base URL under a path", opt: Options{Endpoint: "https://c.example/otlp", SampleRatio: &half}, wantURL: "https://c.example/otlp/v1/traces", wantRatio: 0.5},
		{name: "base URL from the environment", opt: Options{Environ: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://env:4318"}}, wantURL: "http://env:4318/v1/traces", wantRatio: 1},
		{name: "traces URL from the environment is taken whole", opt: Options{Environ: []string{
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://env:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://env:4318/custom"}}, wantURL: "http://env:4318/custom", wantRatio: 1},
		{name: "config wins over the environment", opt: Options{Endpoint: "http://cfg:4318", Environ: []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://env/x"}}, wantURL: "http://cfg:4318/v1/traces", wantRatio: 1},
		{name: "sampler from the environment", opt: Options{Endpoint: "http://c", Environ: []string{"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.01"}}, wantURL: "http://c/v1/traces", wantRatio: 0.01},
		{name: "configured ratio wins", opt: Options{Endpoint: "http://c", SampleRatio: &half, Environ: []string{"OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.01"}}, wantURL: "http://c/v1/traces", wantRatio: 0.5},
		{name: "bad sampler argument", opt: Options{Endpoint: "http://c", Environ: []string{"OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=most"}}, wantErr: true},
		{name: "SDK disabled", opt: Options{Endpoint: "http://c", Environ: []string{"OTEL_SDK_DISABLED=true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(context.Background(), tt.opt)
			if tt.wantErr {
				if err == nil {
					t.Fatal("New succeeded; want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Shutdown(context.Background())
			if tt.wantURL == "" {
				if tr != nil {
					t.Fatalf("New = tracing to %s; want nil (off)", tr.Endpoint())
				}
				return
			}
			if tr == nil {
				t.Fatal("New = nil; want tracing on")
			}
			if tr.Endpoint() != tt.wantURL || tr.SampleRatio() != tt.wantRatio {
				t.Errorf("New = %s at %v; want %s at %v", tr.Endpoint(), tr.SampleRatio(), tt.wantURL, tt.wantRatio)
			}
		})
	}
}

// recorded returns a Tracing that records into a span recorder, sampling
// every trace.
func recorded(t *testing.T) (*Tracing, *tracetest.SpanRecorder) {
	rec := tracetest.NewSpanRecorder()
	tp := trace.NewTracerProvider(trace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := &Tracing{provider: tp, tracer: tp.Tracer(Scope)}
	tr.prop = newPropagator()
	return tr, rec
}

func TestHandlerAndTransport(t *testing.T) {
	tr, rec := recorded(t)
	var upstreamTP string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamTP = r.Header.Get("traceparent")
	}))
	defer up.Close()
	client := &http.Client{Transport: tr.Transport(nil)}
	var log bytes.Buffer
	logger := slog.New(LogHandler{slog.NewTextHandler(&log, nil)})
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Route(r.Context(), r.Method, "/v1/x")
		ctx, span := Start(r.Context(), "child")
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, up.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if req.Header.Get("traceparent") != "" {
			t.Error("the transport changed the caller's request")
		}
		logger.InfoContext(ctx, "called")
		span.End()
		Status(r.Context(), 503)
	}))
	req := httptest.NewRequest(http.MethodPost, "/v1/x", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans; want 2", len(spans))
	}
	child, server := spans[0], spans[1]
	if server.Name() != "POST /v1/x" || server.SpanKind() != oteltrace.SpanKindServer {
		t.Errorf("server span %q %v; want \"POST /v1/x\" server", server.Name(), server.SpanKind())
	}
	if got := server.Parent().SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("server span's parent = %s; want the client's 00f067aa0ba902b7", got)
	}
	if server.Status().Description != "503" {
		t.Errorf("server span status = %v; want an error 503", server.Status())
	}
	if child.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Error("child span is not the server span's child")
	}
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + child.SpanContext().SpanID().String() + "-01"
	if upstreamTP != want {
		t.Errorf("upstream traceparent = %q; want %q", upstreamTP, want)
	}
	if !strings.Contains(log.String(), "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id="+child.SpanContext().SpanID().String()) {
		t.Errorf("log %q; want the trace and span ids", log.String())
	}
}

func TestUntracedPaths(t *testing.T) {
	tr, rec := recorded(t)
	h := tr.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, p := range []string{"/metrics", "/api/admin/cato/health"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans for health and metrics; want none", n)
	}
}

// TestOffCostsNothing: with no recorded span in the context, Start and the
// attribute helpers allocate nothing, and a nil Tracing installs nothing.
func TestOffCostsNothing(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, span := Start(ctx, "x")
		Route(c, "POST", "/v1/x")
		Status(c, 200)
		span.End()
	})
	if allocs != 0 {
		t.Errorf("Start with tracing off allocates %v times; want 0", allocs)
	}
	var tr *Tracing
	h := http.NotFoundHandler()
	if tr.Transport(http.DefaultTransport) != http.DefaultTransport {
		t.Error("nil Tracing wrapped the transport")
	}
	if tr.Handler(h) == nil || tr.Shutdown(ctx) != nil {
		t.Error("nil Tracing is not a no-op")
	}
}
