package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/config"
)

// serveOverload starts a gateway with the given server settings and a
// simple model that takes latency to answer, and returns its base URL.
func serveOverload(t *testing.T, server string, latency time.Duration) (*App, string) {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
server: %s
models:
  bedrock_haiku: {provider: simulated, simulate: {latency: %s}}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
`, server, latency)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	a, err := New(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := startServing(t, a)
	return a, base
}

const simpleChat = `{"model":"bedrock_haiku","messages":[{"role":"user","content":"hi"}]}`

// TestMaxInFlightWithASlowModel fills server.max_in_flight with calls to
// a slow simulated model: the next request is answered 503 overloaded
// with Retry-After at once, and health answers 200 at once.
func TestMaxInFlightWithASlowModel(t *testing.T) {
	a, base := serveOverload(t, "{max_in_flight: 2}", 5*time.Second)
	held := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(simpleChat))
			if err != nil {
				held <- 0
				return
			}
			resp.Body.Close()
			held <- resp.StatusCode
		}()
	}
	deadline := time.Now().Add(15 * time.Second)
	// In flight is not enough: a request takes its slot only once its
	// body has been read, so wait for the slots themselves.
	for a.api.Admitted() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the slow requests never got in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}

	start := time.Now()
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(simpleChat))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"code":"overloaded"`) {
		t.Errorf("past max_in_flight: %d Retry-After=%q %s; want 503 overloaded with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	hr, err := http.Get(base + "/api/admin/cato/health")
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != http.StatusOK {
		t.Errorf("health at max_in_flight = %d, want 200", hr.StatusCode)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("the refusal and health took %v; the model takes 5s", d)
	}
	for range 2 {
		if code := <-held; code != http.StatusOK {
			t.Errorf("a held request = %d, want 200", code)
		}
	}
}

// TestConnectionsPerIP opens server.max_connections_per_ip connections
// from loopback, each serving a request, and checks that one more is
// closed without an answer and that one freed lets a new one in.
func TestConnectionsPerIP(t *testing.T) {
	_, base := serveOverload(t, "{max_connections_per_ip: 2}", 0)
	addr := strings.TrimPrefix(base, "http://")
	health := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprint(c, "GET /api/admin/cato/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c1, c2 := dial(), dial()
	for _, c := range []net.Conn{c1, c2} {
		if err := health(c); err != nil {
			t.Fatalf("a connection under the cap: %v", err)
		}
	}
	if err := health(dial()); err == nil {
		t.Error("a third connection from the address was served; want it closed")
	}
	c1.Close()
	// The server notices the close when it next reads c1.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := health(dial())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after one connection closed, a new one still fails: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c2.Close()
	var metrics string
	for metrics == "" {
		if time.Now().After(deadline) {
			t.Fatal("/metrics unreachable once a slot was free")
		}
		if mr, err := http.Get(base + "/metrics"); err == nil {
			b, _ := io.ReadAll(mr.Body)
			mr.Body.Close()
			metrics = string(b)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.Contains(metrics, `cato_shed_total{reason="connections_per_ip"}`) {
		t.Error("/metrics does not count the refused connections")
	}
}

func TestDeriveOverload(t *testing.T) {
	tests := []struct {
		name                   string
		inFlight, perIP, conns int
		nofile                 uint64
		mem                    int64
		want                   overloadLimits
	}{
		{"derived at 65536", 0, 0, 0, 65536, 0, overloadLimits{inFlight: 32640, perIP: 16384, conns: 32768}},
		{"derived when unknown", 0, 0, 0, 0, 0, overloadLimits{inFlight: 32640, perIP: 16384, conns: 32768}},
		{"derived at 1024", 0, 0, 0, 1024, 0, overloadLimits{inFlight: 384, perIP: 256, conns: 512}},
		{"floors at a tiny limit", 0, 0, 0, 64, 0, overloadLimits{inFlight: 64, perIP: 16, conns: 64}},
		{"unlimited counts as 1<<20", 0, 0, 0, 1 << 62, 0, overloadLimits{inFlight: (1<<20 - 256) / 2, perIP: 1 << 18, conns: 1 << 19}},
		{"set", 100, 10, 20000, 65536, 0, overloadLimits{inFlight: 100, perIP: 10, conns: 20000}},
		{"set above the derived", 0, 0, 100000, 65536, 0, overloadLimits{inFlight: 32640, perIP: 16384, conns: 100000}},
		{"off", -1, -1, -1, 65536, 0, overloadLimits{}},
		{"memory binds", 0, 0, 0, 65536, 100 * memPerRequest, overloadLimits{inFlight: 100, perIP: 16384, conns: 32768}},
		{"memory above the file limit's", 0, 0, 0, 1024, 1 << 30, overloadLimits{inFlight: 384, perIP: 256, conns: 512}},
		{"memory floors at 64", 0, 0, 0, 65536, 1, overloadLimits{inFlight: 64, perIP: 16384, conns: 32768}},
		{"set ignores memory", 5000, 0, 0, 65536, 100 * memPerRequest, overloadLimits{inFlight: 5000, perIP: 16384, conns: 32768}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := deriveOverload(config.Server{MaxInFlight: tt.inFlight, MaxConnectionsPerIP: tt.perIP, MaxConnections: tt.conns}, tt.nofile, tt.mem)
			if got != tt.want {
				t.Errorf("deriveOverload = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequestMemory(t *testing.T) {
	off := false
	const gib = 1 << 30
	tests := []struct {
		name  string
		cache config.Cache
		soft  int64
		want  int64
	}{
		{"no limit", config.Cache{}, 0, 0},
		{"GOMEMLIMIT off", config.Cache{}, math.MaxInt64, 0},
		{"soft limit", config.Cache{}, 2 * gib, 2*gib - memBase - cache.DefaultMaxBytes},
		{"cache budget set", config.Cache{MaxBytes: 64 << 20}, 2 * gib, 2*gib - memBase - 64<<20},
		{"cache off", config.Cache{Enabled: &off}, 2 * gib, 2*gib - memBase},
		{"less than Cato needs", config.Cache{}, 64 << 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := requestMemory(&config.Config{Cache: tt.cache}, tt.soft); got != tt.want {
				t.Errorf("requestMemory = %d, want %d", got, tt.want)
			}
		})
	}
}

// h2cClient returns a client that speaks HTTP/2 without TLS.
func h2cClient(t *testing.T) *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestPacedBodyOverH2C: the body's read deadline is set per HTTP/2 stream
// too, so a body sent at once over h2c is served.
func TestPacedBodyOverH2C(t *testing.T) {
	_, base := serveOverload(t, "{body_read_grace: 1s, body_min_rate: 1000}", 0)
	c := h2cClient(t)
	for range 3 {
		resp, err := c.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(simpleChat))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("over h2c: %s %d %s; want HTTP/2 200", resp.Proto, resp.StatusCode, b)
		}
	}
}

// TestSlowBodyOverH2CKeepsTheConnection: a stream whose body is cut for
// its pace is answered 408 alone; the other streams of its HTTP/2
// connection go on, on the same connection.
func TestSlowBodyOverH2CKeepsTheConnection(t *testing.T) {
	_, base := serveOverload(t, "{body_read_grace: 200ms, body_min_rate: 1000}", 0)
	c := h2cClient(t)
	var conns atomic.Int64
	trace := &httptrace.ClientTrace{ConnectStart: func(string, string) { conns.Add(1) }}
	post := func(body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodPost, base+"/v1/chat/completions", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := post(strings.NewReader(simpleChat)); code != http.StatusOK {
		t.Fatalf("first request: %d %s", code, b)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte(`{"model": "auto", `)) }() // then nothing
	if code, b := post(pr); code != http.StatusRequestTimeout || !strings.Contains(b, "request_timeout") {
		t.Fatalf("stalled body: %d %s; want 408 request_timeout", code, b)
	}
	if code, b := post(strings.NewReader(simpleChat)); code != http.StatusOK {
		t.Fatalf("after the stalled stream: %d %s", code, b)
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("%d connections dialled; want 1: a slow stream must not end its connection", got)
	}
}
