package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/connlimit"
)

// newAdminApp builds a gateway with the given server settings, the admin
// key "admin" and a simulated model.
func newAdminApp(t *testing.T, server string) *App {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
listen: 127.0.0.1:0
server: %s
auth:
  admin_key_env: TEST_ADMIN_KEY
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
`, server)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	a, err := New(context.Background(), cfg, []string{"TEST_ADMIN_KEY=admin"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startServingAdmin serves a on a client and an admin listener of its
// own until the test ends, and returns their base URLs.
func startServingAdmin(t *testing.T, a *App) (base, admin string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, ln, adminLn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), "http://" + adminLn.Addr().String()
}

// TestAdminListener checks that the admin listener serves health,
// /metrics and the admin API, and answers 404 to every client route.
func TestAdminListener(t *testing.T) {
	a := newAdminApp(t, "{admin_listen: '127.0.0.1:0'}")
	base, admin := startServingAdmin(t, a)
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(method, url, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		method, path, body string
		want               int
		wantBody           string
	}{
		{http.MethodGet, "/api/admin/cato/health", "", 200, ""},
		{http.MethodGet, "/metrics", "", 200, "cato_"},
		{http.MethodGet, "/api/admin/cato/status", "", 200, "breakers"},
		{http.MethodPost, "/v1/chat/completions", simpleChat, 404, "not_found"},
		{http.MethodGet, "/v1/models", "", 404, "not_found"},
		{http.MethodGet, "/api/admin/../v1/models", "", 404, "not_found"},
		{http.MethodGet, "/", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			code, body := do(tt.method, admin+tt.path, tt.body)
			if code != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Errorf("admin listener: %d %.200s; want %d with %q", code, body, tt.want, tt.wantBody)
			}
		})
	}
	// The client listener still serves everything.
	if code, body := do(http.MethodPost, base+"/v1/chat/completions", simpleChat); code != 200 {
		t.Errorf("client listener chat: %d %.200s; want 200", code, body)
	}
	if code, _ := do(http.MethodGet, base+"/api/admin/cato/health", ""); code != 200 {
		t.Errorf("client listener health: %d; want 200", code)
	}
}

// TestAdminListenerUnderConnectionCap holds server.max_connections idle
// connections on the client listener: one more waits, unanswered and
// counted, until one of them closes; meanwhile health and /metrics on the
// admin listener answer at once.
func TestAdminListenerUnderConnectionCap(t *testing.T) {
	a := newAdminApp(t, "{max_connections: 3, admin_listen: '127.0.0.1:0'}")
	base, admin := startServingAdmin(t, a)
	addr := strings.TrimPrefix(base, "http://")
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var held []net.Conn
	for range 3 {
		held = append(held, dial()) // idle, never sending a request
	}
	extra := dial() // completes in the kernel's backlog
	fmt.Fprint(extra, "GET /api/admin/cato/health HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatalf("a connection past max_connections read %d bytes; want it to wait", n)
	} else if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Fatalf("a connection past max_connections: %v; want it to wait, not closed", err)
	}

	c := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	resp, err := c.Get(admin + "/api/admin/cato/health")
	if err != nil {
		t.Fatalf("health on the admin listener with the client listener full: %v", err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != 200 || took > time.Second {
		t.Errorf("health on the admin listener: %d in %s; want 200 at once", resp.StatusCode, took)
	}
	// The wait is counted when the server's accept loop, holding the third
	// connection, next finds the cap full: on a busy machine that can come
	// after the read above gave up, so poll for it.
	var metrics string
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err = c.Get(admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(b)
		if strings.Contains(metrics, `cato_shed_total{reason="connections"} 1`+"\n") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(metrics, `cato_shed_total{reason="connections"} 1`+"\n") {
		t.Error(`/metrics does not count the wait in cato_shed_total{reason="connections"} within 15s`)
	}

	// A held connection closes: the waiting one is accepted and answered.
	held[0].Close()
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(extra).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("the waiting connection, once a slot freed: %q, %v; want 200", line, err)
	}
}

// TestAdminListenFails: Serve reports an admin address it cannot listen
// on, and closes the client listener.
func TestAdminListenFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	a := newAdminApp(t, fmt.Sprintf("{admin_listen: '%s'}", busy.Addr()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = a.Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "server.admin_listen") {
		t.Fatalf("Serve = %v; want the admin listener's error", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("the client listener was left open")
	}
}

// TestAdminListenAnonymousLoopbackOnly: without client keys the admin
// listener, like the client one, must be on loopback.
func TestAdminListenAnonymousLoopbackOnly(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{{"127.0.0.1:9090", true}, {"[::1]:9090", true}, {":9090", false}, {"0.0.0.0:9090", false}} {
		cfg := &config.Config{Listen: "127.0.0.1:8080", Server: config.Server{AdminListen: tt.addr}}
		_, _, err := buildAuth(cfg, nil, slog.New(slog.DiscardHandler))
		if got := err == nil; got != tt.ok {
			t.Errorf("admin_listen %s without keys: %v; want accepted %v", tt.addr, err, tt.ok)
		}
	}
}

// TestShedSlowConnections fills max_connections with a connection that
// trickles a request body and an idle keep-alive one, and checks that,
// with server.shed_slow_connections, a new connection gets in by closing
// the trickling one, past connlimit.ShedGrace, while the idle one keeps
// serving; the shed connection is counted. (The choice itself is tested
// with a fake clock in connlimit; this checks the HTTP server reports
// each connection's requests to the listener.)
func TestShedSlowConnections(t *testing.T) {
	a := newAdminApp(t, "{max_connections: 2, shed_slow_connections: true, admin_listen: '127.0.0.1:0'}")
	base, admin := startServingAdmin(t, a)
	addr := strings.TrimPrefix(base, "http://")
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c, bufio.NewReader(c)
	}
	get := func(c net.Conn, br *bufio.Reader) int {
		t.Helper()
		fmt.Fprint(c, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET /v1/models: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	slow, _ := dial()
	fmt.Fprint(slow, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	idle, idleR := dial()
	if code := get(idle, idleR); code != http.StatusOK {
		t.Fatalf("GET /v1/models = %d", code)
	}
	// The trickle must be old enough to shed; its age counts from when the
	// server began reading it, which a busy machine can delay.
	time.Sleep(connlimit.ShedGrace + time.Second)

	fresh, freshR := dial()
	if code := get(fresh, freshR); code != http.StatusOK {
		t.Errorf("a new connection with the cap full: %d, want 200", code)
	}
	if n, err := slow.Read(make([]byte, 1)); err == nil {
		t.Errorf("the trickling connection read %d bytes; want it closed", n)
	} else if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Error("the trickling connection was left open")
	}
	if code := get(idle, idleR); code != http.StatusOK {
		t.Errorf("the idle connection after the shedding: %d, want 200", code)
	}
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `cato_shed_total{reason="slow_connection"} 1`) {
		t.Error(`/metrics does not count the shed connection in cato_shed_total{reason="slow_connection"}`)
	}
}
