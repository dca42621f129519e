package app

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/requestid"
	"github.com/google/go-cmp/cmp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP collector: it accepts protobuf exports on
// POST /v1/traces and keeps their spans.
type otlpReceiver struct {
	t     *testing.T
	mu    sync.Mutex // guards spans
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		o.t.Errorf("collector got %s %s; want POST /v1/traces", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		o.t.Errorf("collector Content-Type = %q; want application/x-protobuf", ct)
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			o.t.Error(err)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		o.t.Error(err)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &req); err != nil {
		o.t.Errorf("decoding export: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		if name := attr(rs.GetResource().GetAttributes(), "service.name"); name != "cato" {
			o.t.Errorf("service.name = %q; want cato", name)
		}
		for _, ss := range rs.GetScopeSpans() {
			o.spans = append(o.spans, ss.GetSpans()...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// trace returns the spans of trace id, by span id.
func (o *otlpReceiver) trace(id string) map[string]*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]*tracepb.Span{}
	for _, s := range o.spans {
		if hex.EncodeToString(s.GetTraceId()) == id {
			out[hex.EncodeToString(s.GetSpanId())] = s
		}
	}
	return out
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() != key {
			continue
		}
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return fmt.Sprint(v.IntValue)
		case *commonpb.AnyValue_BoolValue:
			return fmt.Sprint(v.BoolValue)
		}
		return kv.GetValue().String()
	}
	return ""
}

// children returns the names of the spans whose parent is parent, in start
// order.
func children(spans map[string]*tracepb.Span, parent string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if hex.EncodeToString(s.GetParentSpanId()) == parent {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *tracepb.Span) int {
		return int(int64(a.GetStartTimeUnixNano()) - int64(b.GetStartTimeUnixNano()))
	})
	return out
}

func names(spans []*tracepb.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.GetName()
	}
	return out
}

// jsonLines decodes the JSON log lines of s.
func jsonLines(s string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(s) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestTraceOfAChatRequest sends chat requests, each under a traceparent of
// the client's, through a gateway that exports to an in-process collector,
// and checks each trace's tree of spans, the traceparent the upstream got
// and the trace id of the request's log lines.
func TestTraceOfAChatRequest(t *testing.T) {
	recv := &otlpReceiver{t: t}
	collector := httptest.NewServer(recv)
	defer collector.Close()

	var mu sync.Mutex                   // guards upstreamTP
	upstreamTP := map[string][]string{} // traceparents received, by upstream model id
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model string `json:"model"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		upstreamTP[body.Model] = append(upstreamTP[body.Model], r.Header.Get("traceparent"))
		mu.Unlock()
		if body.Model == "up-sonnet" {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": map[string]any{"message": "overloaded", "type": "server_error"}})
			return
		}
		writeJSON(w, 200, map[string]any{
			"id": "up-1", "object": "chat.completion", "created": 1, "model": body.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "Paris."}}},
			"usage":   map[string]any{"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
		})
	}))
	defer up.Close()

	cfg, err := config.Parse(fmt.Appendf(nil, `
listen: 127.0.0.1:0
telemetry: {otlp_endpoint: %q, sample_ratio: 0}
models:
  bedrock_haiku: {provider: openai, base_url: %[2]q, model_id: up-haiku}
  bedrock_sonnet: {provider: openai, base_url: %[2]q, model_id: up-sonnet}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_sonnet, complex: bedrock_sonnet, hidden_states: shadow_self, fallbacks: {bedrock_sonnet: [bedrock_haiku]}}
retries: {max_attempts: 2, base: 1ms, max: 5ms}
`, collector.URL, up.URL+"/v1"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	logs := &syncBuffer{}
	log := slog.New(requestid.Handler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	a, err := New(context.Background(), cfg, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServing(t, a)

	type attempt struct{ Model, Attempt, Retry, Fallback, Status string }
	tests := []struct {
		name         string
		model        string
		traceID      string
		wantAttempts []attempt
		wantUpstream map[string]int // traceparents per upstream model id
		wantFallback string
	}{
		{
			name: "one attempt", model: "bedrock_haiku", traceID: "0af7651916cd43dd8448eb211c80319c",
			wantAttempts: []attempt{{"bedrock_haiku", "1", "0", "false", ""}},
			wantUpstream: map[string]int{"up-haiku": 1},
			wantFallback: "false",
		},
		{
			name: "a retry and a fallback", model: "auto", traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
			wantAttempts: []attempt{
				{"bedrock_sonnet", "1", "0", "false", "503"},
				{"bedrock_sonnet", "2", "1", "false", "503"},
				{"bedrock_haiku", "1", "0", "true", ""},
			},
			wantUpstream: map[string]int{"up-sonnet": 2, "up-haiku": 1},
			wantFallback: "true",
		},
	}
	const clientSpan = "00f067aa0ba902b7"
	for _, tt := range tests {
		mu.Lock()
		clear(upstreamTP)
		mu.Unlock()
		// The client's trace is sampled, so the gateway records it although
		// its own ratio is 0.
		resp, body := post(t, base+"/v1/chat/completions",
			`{"model": "`+tt.model+`", "messages": [{"role": "user", "content": "Capital of France?"}]}`,
			"traceparent", "00-"+tt.traceID+"-"+clientSpan+"-01", "X-Cato-Session", "s-"+tt.model, "X-Request-Id", "req-"+tt.model)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, body %s", tt.name, resp.StatusCode, body)
		}
		mu.Lock()
		for model, tps := range upstreamTP {
			if len(tps) != tt.wantUpstream[model] {
				t.Errorf("%s: upstream %s got %d calls; want %d", tt.name, model, len(tps), tt.wantUpstream[model])
			}
			for _, tp := range tps {
				if !strings.HasPrefix(tp, "00-"+tt.traceID+"-") {
					t.Errorf("%s: upstream %s got traceparent %q; want one of trace %s", tt.name, model, tp, tt.traceID)
				}
			}
		}
		mu.Unlock()
	}
	stop() // shutting down flushes the spans

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := recv.trace(tt.traceID)
			roots := children(spans, clientSpan)
			if len(roots) != 1 {
				t.Fatalf("spans under the client's = %v; want the server span alone", names(roots))
			}
			srv := roots[0]
			if srv.GetKind() != tracepb.Span_SPAN_KIND_SERVER || srv.GetName() != "POST /v1/chat/completions" {
				t.Errorf("server span = %s %q; want SERVER \"POST /v1/chat/completions\"", srv.GetKind(), srv.GetName())
			}
			for k, want := range map[string]string{
				"http.request.method": "POST", "http.route": "/v1/chat/completions", "http.response.status_code": "200",
				"cato.side": "new", "cato.tenant": "anonymous",
			} {
				if got := attr(srv.GetAttributes(), k); got != want {
					t.Errorf("server span %s = %q; want %q", k, got, want)
				}
			}
			srvID := hex.EncodeToString(srv.GetSpanId())
			kids := children(spans, srvID)
			got := names(kids)
			want := []string{"rollout.decide", "session.load", "cache.lookup", "provider.call", "session.append"}
			if tt.model == "auto" {
				want = append(want, "router.decide") // a model the client names is not routed
			}
			for _, want := range want {
				if !slices.Contains(got, want) {
					t.Errorf("children of the server span = %v; want %s among them", got, want)
				}
			}
			var call *tracepb.Span
			for _, k := range kids {
				switch k.GetName() {
				case "provider.call":
					call = k
				case "session.load":
					if sub := names(children(spans, hex.EncodeToString(k.GetSpanId()))); !slices.Contains(sub, "store.sessions.load") {
						t.Errorf("children of session.load = %v; want store.sessions.load", sub)
					}
				case "session.append":
					if sub := names(children(spans, hex.EncodeToString(k.GetSpanId()))); !slices.Contains(sub, "store.sessions.append") {
						t.Errorf("children of session.append = %v; want store.sessions.append", sub)
					}
				case "cache.lookup":
					if h := attr(k.GetAttributes(), "cato.cache.hit"); h != "false" {
						t.Errorf("cache.lookup cato.cache.hit = %q; want false", h)
					}
				}
			}
			if call == nil {
				t.Fatal("no provider.call span")
			}
			if got := attr(call.GetAttributes(), "cato.fallback_used"); got != tt.wantFallback {
				t.Errorf("provider.call cato.fallback_used = %q; want %q", got, tt.wantFallback)
			}
			var attempts []attempt
			for _, s := range children(spans, hex.EncodeToString(call.GetSpanId())) {
				if s.GetName() != "provider.attempt" {
					t.Errorf("child of provider.call %q; want provider.attempt", s.GetName())
				}
				at := s.GetAttributes()
				attempts = append(attempts, attempt{attr(at, "cato.model"), attr(at, "cato.attempt"), attr(at, "cato.retry"), attr(at, "cato.fallback"), attr(at, "http.response.status_code")})
			}
			if diff := cmp.Diff(tt.wantAttempts, attempts); diff != "" {
				t.Errorf("attempts (-want +got):\n%s", diff)
			}
			// No span carries the prompt.
			for _, s := range spans {
				for _, kv := range s.GetAttributes() {
					if strings.Contains(kv.GetValue().String(), "Capital of France") {
						t.Errorf("span %s attribute %s carries the prompt", s.GetName(), kv.GetKey())
					}
				}
			}
		})
	}

	// Every log line of a request names its trace.
	byRequest := map[string]int{}
	for _, l := range jsonLines(logs.String()) {
		rid, _ := l["request_id"].(string)
		if rid == "" {
			continue
		}
		byRequest[rid]++
		want := tests[0].traceID
		if rid == "req-auto" {
			want = tests[1].traceID
		}
		if l["trace_id"] != want {
			t.Errorf("log line %v: trace_id = %v; want %s", l["msg"], l["trace_id"], want)
		}
	}
	if byRequest["req-auto"] == 0 {
		t.Errorf("no log line of the request that fell back; want its warnings")
	}
}

// TestUnsampledRequest: at sample ratio 0 a request without a traceparent
// is not recorded, yet the upstream gets its trace context, marked not
// sampled, and its log lines carry its trace id.
func TestUnsampledRequest(t *testing.T) {
	recv := &otlpReceiver{t: t}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	tps := make(chan string, 8) // two attempts of each model
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tps <- r.Header.Get("traceparent")
		w.WriteHeader(http.StatusServiceUnavailable) // falling back is logged
	}))
	defer up.Close()
	cfg, err := config.Parse([]byte(upstreamConfig(up.URL) + "telemetry: {otlp_endpoint: " + collector.URL + ", sample_ratio: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	logs := &syncBuffer{}
	a, err := New(context.Background(), cfg, nil, slog.New(requestid.Handler{Handler: slog.NewJSONHandler(logs, nil)}))
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServing(t, a)
	resp, _ := post(t, base+"/v1/chat/completions", `{"model": "bedrock_sonnet", "messages": [{"role": "user", "content": "hi"}]}`, "X-Request-Id", "req-unsampled")
	stop()
	if resp.StatusCode < 500 {
		t.Errorf("status %d; want a failure: no model answered", resp.StatusCode)
	}
	tp := <-tps
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[0] != "00" || parts[3] != "00" || len(parts[1]) != 32 {
		t.Fatalf("upstream traceparent = %q; want version 00, a trace id and flags 00 (not sampled)", tp)
	}
	recv.mu.Lock()
	n := len(recv.spans)
	recv.mu.Unlock()
	if n != 0 {
		t.Errorf("collector got %d spans; want none at ratio 0", n)
	}
	var lines int
	for _, l := range jsonLines(logs.String()) {
		if l["request_id"] == "req-unsampled" {
			lines++
			if l["trace_id"] != parts[1] {
				t.Errorf("log line %v: trace_id = %v; want %s", l["msg"], l["trace_id"], parts[1])
			}
		}
	}
	if lines == 0 {
		t.Error("no log line of the request")
	}
}

// TestTracingOffInstallsNothing: with no endpoint the handler is the API
// itself and the upstream transport is Go's, unwrapped.
func TestTracingOffInstallsNothing(t *testing.T) {
	cfg, err := config.Parse([]byte(simConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	a, err := New(context.Background(), cfg, []string{"TEST_KEY_A=key-a"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if a.tracing != nil || a.handler != http.Handler(a.api) {
		t.Error("tracing is installed without an endpoint")
	}
	if _, ok := a.upstream.Transport.(*http.Transport); !ok {
		t.Errorf("upstream transport is %T; want *http.Transport", a.upstream.Transport)
	}
}
