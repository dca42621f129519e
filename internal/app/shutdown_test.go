package app

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
)

// TestShutdownDrains starts a slow stream, cancels Serve's context as
// SIGTERM does, and checks that health turns 503 while the stream still
// finishes, and that Serve returns only after it.
func TestShutdownDrains(t *testing.T) {
	a, base, stop, served := serveUntilStopped(t, shutdownConfig("10s", 40))

	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"model":"bedrock_haiku","stream":true,"messages":[{"role":"user","content":"Tell me something long"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readEvent(t, rd) // the stream is in flight

	stop() // SIGTERM
	deadline := time.Now().Add(15 * time.Second)
	for !a.api.Draining() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !a.api.Draining() {
		t.Fatal("the server did not start draining after its context ended")
	}
	h := httptestRecorder(a)
	if h != http.StatusServiceUnavailable {
		t.Errorf("health while draining = %d; want 503", h)
	}

	var last string
	for {
		ev := readEvent(t, rd)
		if ev == "[DONE]" {
			break
		}
		last = ev
	}
	if !strings.Contains(last, `"cato"`) {
		t.Errorf("last event = %s; want the stream to finish with Cato's account", last)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v; want nil after a clean drain", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the in-flight stream finished")
	}
}

// TestShutdownEndsLateStreams stops a gateway whose stream outlasts
// server.shutdown_timeout: the stream must end with a shutting_down error
// event, not be cut, and Serve must return soon after the deadline.
func TestShutdownEndsLateStreams(t *testing.T) {
	_, base, stop, served := serveUntilStopped(t, shutdownConfig("300ms", 2))

	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"model":"bedrock_haiku","stream":true,"messages":[{"role":"user","content":"Tell me something long"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readEvent(t, rd) // the stream is in flight
	stop()           // SIGTERM

	var last string
	for {
		ev := readEvent(t, rd) // fails the test if the stream is cut
		if ev == "[DONE]" {
			t.Fatalf("the stream finished before the drain deadline; make it slower (last event %s)", last)
		}
		if strings.Contains(ev, `"error"`) {
			last = ev
			break
		}
	}
	if !strings.Contains(last, `"code":"shutting_down"`) {
		t.Errorf("last event = %s; want an error with code shutting_down", last)
	}
	select {
	case err := <-served:
		if err == nil {
			t.Error("Serve = nil; want the drain deadline reported")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain deadline")
	}
}

// shutdownConfig is a gateway draining for timeout whose streams come at
// tokensPerSecond.
func shutdownConfig(timeout string, tokensPerSecond int) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
server: {shutdown_timeout: %s}
models:
  bedrock_haiku: {provider: simulated, simulate: {tokens_per_second: %d}}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self}
`, timeout, tokensPerSecond)
}

// serveUntilStopped serves cfgYAML on the embedded store until stop is
// called, as SIGTERM does; served receives what Serve returned.
func serveUntilStopped(t *testing.T, cfgYAML string) (a *App, base string, stop func(), served chan error) {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded://" + t.TempDir()
	a, err = New(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	served = make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	return a, "http://" + ln.Addr().String(), stop, served
}
