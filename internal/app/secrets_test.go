package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/requestid"
)

// syncBuffer is a bytes.Buffer a logger and a test may share.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStartupLogRedactsStoreURL: the "cato serving" line names the store
// without its password.
func TestStartupLogRedactsStoreURL(t *testing.T) {
	cfg, err := config.Parse([]byte(simConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	var logs syncBuffer
	a, err := New(context.Background(), cfg, []string{"TEST_KEY_A=key-a"}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// The store is open; what Serve prints is the configured URL.
	cfg.Store = "redis://cato:s3cret@10.1.2.3:6379/0?password=s3cret"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Serve(ctx, ln); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "cato serving") {
		t.Fatalf("no start-up line in %q", out)
	}
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "redis://cato:xxxxx@10.1.2.3:6379/0?password=xxxxx") {
		t.Errorf("start-up log = %q; want the store URL with its secrets masked", out)
	}
}

// TestErrorsHideInternals: a refused upstream and an unreachable store
// are answered with the failing component and the request id, never an
// address or a Go error; the log has the cause under the same request id.
func TestErrorsHideInternals(t *testing.T) {
	// A port nobody listens on: the dial is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	cfg, err := config.Parse([]byte(upstreamConfig("http://"+dead) + "auth: {admin_key_env: TEST_ADMIN_KEY, keys: [{key_env: TEST_KEY_A, tenant: team-a}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	var logs syncBuffer
	log := slog.New(requestid.Handler{Handler: slog.NewTextHandler(&logs, nil)})
	a, err := New(context.Background(), cfg, []string{"TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	h := a.Handler()
	leaks := []string{dead, "127.0.0.1", "dial tcp", "connection refused", "http://", "/v1/chat/completions"}

	for _, stream := range []bool{false, true} {
		body := `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]` + map[bool]string{false: "}", true: `,"stream":true}`}[stream]
		req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer key-a")
		req.Header.Set("X-Request-Id", "req-refused")
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadGateway {
			t.Fatalf("stream %v: status %d (%s); want 502", stream, rec.Code, rec.body.String())
		}
		var doc struct {
			Error struct{ Message, Code string }
		}
		if err := json.Unmarshal(rec.body.Bytes(), &doc); err != nil {
			t.Fatalf("stream %v: body %q: %v", stream, rec.body.String(), err)
		}
		for _, leak := range leaks {
			if strings.Contains(rec.body.String(), leak) {
				t.Errorf("stream %v: body %s holds %q", stream, rec.body.String(), leak)
			}
		}
		if doc.Error.Code != "upstream_unreachable" || !strings.Contains(doc.Error.Message, "bedrock_sonnet") || !strings.Contains(doc.Error.Message, "req-refused") {
			t.Errorf("stream %v: error %+v; want upstream_unreachable naming the model and the request id", stream, doc.Error)
		}
	}
	if out := logs.String(); !strings.Contains(out, "request_id=req-refused") || !strings.Contains(out, "connection refused") {
		t.Errorf("log %q lacks the cause under the request id", out)
	}

	// Health, unauthenticated, with the store closed under it.
	a.close()
	req, _ := http.NewRequest(http.MethodGet, "/api/admin/cato/health", nil)
	req.Header.Set("X-Request-Id", "req-health")
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("health: %d %s; want 503", rec.Code, rec.body.String())
	}
	var health struct {
		Status    string            `json:"status"`
		Failing   map[string]string `json:"failing"`
		RequestID string            `json:"request_id"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &health); err != nil {
		t.Fatal(err)
	}
	if _, ok := health.Failing["store"]; !ok || health.RequestID != "req-health" {
		t.Errorf("health = %s; want the store failing and the request id", rec.body.String())
	}
	for _, leak := range []string{"/", "embedded", "closed", "bolt", "database"} {
		if v := health.Failing["store"]; strings.Contains(v, leak) {
			t.Errorf("health names the store's failure %q; it holds %q", v, leak)
		}
	}
	if out := logs.String(); !strings.Contains(out, "request_id=req-health") {
		t.Errorf("log lacks the health check's cause under its request id:\n%s", out)
	}
}

// recorder is a ResponseWriter for tests that need Flush (streams).
type recorder struct {
	h    http.Header
	Code int
	body bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(c int) {
	if r.Code == 0 {
		r.Code = c
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.Code == 0 {
		r.Code = 200
	}
	return r.body.Write(b)
}
func (r *recorder) Flush() {}

// TestPayloadLogging: the log carries a tenant's prompts and answers only
// when log.payloads names the tenant, at any level.
func TestPayloadLogging(t *testing.T) {
	const prompt = "my secret prompt about zebras"
	for _, tt := range []struct {
		name     string
		payloads string
		want     bool
	}{
		{"off by default", "", false},
		{"another tenant", "log: {payloads: [team-b]}\n", false},
		{"this tenant", "log: {payloads: [team-a]}\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(simConfig + tt.payloads))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Store = "embedded://" + t.TempDir()
			var logs syncBuffer
			log := slog.New(requestid.Handler{Handler: slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
			a, err := New(context.Background(), cfg, []string{"TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin"}, log)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			for _, body := range []string{
				`{"model":"auto","session_id":"s-1","messages":[{"role":"user","content":"` + prompt + `"}]}`,
				`{"model":"auto","session_id":"s-1","stream":true,"messages":[{"role":"user","content":"` + prompt + `"}]}`,
			} {
				req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer key-a")
				rec := newRecorder()
				a.Handler().ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.body.String())
				}
			}
			out := logs.String()
			if got := strings.Contains(out, "zebras"); got != tt.want {
				t.Errorf("log holds the prompt: %v; want %v\n%s", got, tt.want, out)
			}
			if tt.want && (strings.Count(out, "msg=payload") != 2 || !strings.Contains(out, "simulated answer")) {
				t.Errorf("log lacks two payload lines with the answers:\n%s", out)
			}
			if strings.Contains(out, "key-a") {
				t.Errorf("log holds the client key:\n%s", out)
			}
		})
	}
}

// TestRequestPathWarningsRateLimited: an upstream that refuses every
// request warns once per message per interval, not once per request.
func TestRequestPathWarningsRateLimited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	cfg, err := config.Parse([]byte(upstreamConfig("http://" + dead)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	var logs syncBuffer
	a, err := New(context.Background(), cfg, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	for range 10 {
		req, _ := http.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`))
		rec := newRecorder()
		a.Handler().ServeHTTP(rec, req)
		if rec.Code < 500 { // 502, then 503 once the breakers open
			t.Fatalf("status %d; want a 5xx", rec.Code)
		}
	}
	out := logs.String()
	for _, msg := range []string{`msg="falling back"`, `msg="request failed"`} {
		if n := strings.Count(out, msg); n != 1 {
			t.Errorf("%s logged %d times for 10 failed requests; want once per interval\n%s", msg, n, out)
		}
	}
}
