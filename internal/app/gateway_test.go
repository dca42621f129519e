package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(gatewayModeEnv); mode != "" {
		os.Exit(runGatewayProcess(mode))
	}
	goleak.VerifyTestMain(m,
		// The race detector and the HTTP client keep these around between tests.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

// gateway starts Cato in process with cfgYAML (models and so on) and
// returns its base URL. extraEnv adds environment variables (keys).
func gateway(t *testing.T, cfgYAML string, extraEnv ...string) string {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	a, err := New(context.Background(), cfg, extraEnv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.EnableHTTP2 = false
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		a.close()
	})
	return srv.URL
}

// upstreamConfig is a config whose every tier is the OpenAI-compatible
// server at url.
func upstreamConfig(url string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: openai, base_url: %[1]q, model_id: up-haiku}
  bedrock_sonnet: {provider: openai, base_url: %[1]q, model_id: up-sonnet}
  shadow_self: {provider: openai, base_url: %[1]q, model_id: up-shadow}
routing:
  simple: bedrock_haiku
  complex: bedrock_sonnet
  hidden_states: shadow_self
  fallbacks: {bedrock_sonnet: [bedrock_haiku]}
retries: {max_attempts: 2, base: 1ms, max: 5ms}
`, url+"/v1")
}

func post(t *testing.T, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// httptestRecorder calls the health endpoint in process.
func httptestRecorder(a *App) int {
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/admin/cato/health", nil))
	return rec.Code
}

// serve starts a gateway from cfgYAML on store through Serve, as `cato
// serve` does (background work included: the cache's warm start and change
// feed, the rollout poller and guard), and returns its URL and a stop that
// drains it; the test's cleanup stops it too.
func serve(t *testing.T, cfgYAML, store string, environ ...string) (string, func()) {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Store = store
	a, err := New(context.Background(), cfg, environ, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	return startServing(t, a)
}

// startServing serves a on a loopback port until the test ends, and
// returns its base URL and a function that stops it early.
func startServing(t *testing.T, a *App) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// adminGet reads url with the admin key "admin" and returns the body.
func adminGet(t *testing.T, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return readAll(t, resp)
}
