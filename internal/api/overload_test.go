package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
)

// heldModel answers only when release is closed, and reports each call
// on started.
type heldModel struct {
	started chan struct{}
	release chan struct{}
}

func (m *heldModel) Chat(ctx context.Context, chain []string, _ *llm.Request) (provider.Answer, error) {
	m.started <- struct{}{}
	select {
	case <-m.release:
	case <-ctx.Done():
		return provider.Answer{}, ctx.Err()
	}
	return provider.Answer{Model: chain[0], Response: &llm.Response{
		Message: llm.Message{Role: llm.RoleAssistant, Content: "done"}, FinishReason: llm.FinishStop,
	}}, nil
}

func (m *heldModel) ChatStream(context.Context, []string, *llm.Request) (provider.StreamAnswer, error) {
	return provider.StreamAnswer{}, fmt.Errorf("not streamed")
}

func overloadServer(t *testing.T, caller interface {
	Chat(context.Context, []string, *llm.Request) (provider.Answer, error)
	ChatStream(context.Context, []string, *llm.Request) (provider.StreamAnswer, error)
}, o Overload, maxBody int64) (*Server, *httptest.Server) {
	t.Helper()
	s := New(Options{
		Orchestrator: orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: caller, Router: oneRoute{}}),
		MaxBodyBytes: maxBody,
		Overload:     o,
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// TestMaxInFlight fills server.max_in_flight with requests a model holds,
// and checks that the next one is answered 503 overloaded with
// Retry-After at once, that health still answers 200 at once, and that a
// slot freed is taken again.
func TestMaxInFlight(t *testing.T) {
	m := &heldModel{started: make(chan struct{}, 10), release: make(chan struct{})}
	_, srv := overloadServer(t, m, Overload{MaxInFlight: 2}, 0)
	held := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
			if err != nil {
				held <- 0
				return
			}
			resp.Body.Close()
			held <- resp.StatusCode
		}()
	}
	for range 2 {
		select {
		case <-m.started:
		case <-time.After(5 * time.Second):
			t.Fatal("the held requests did not reach the model")
		}
	}

	start := time.Now()
	resp, body := do(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody)
	if resp.StatusCode != http.StatusServiceUnavailable || errorCode(body) != codeOverloaded || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("over max_in_flight: %d Retry-After=%q %s; want 503 overloaded with Retry-After: 1", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	shedCount(t, srv.URL, "in_flight", 1)
	for _, path := range []string{"/api/admin/cato/health", "/metrics"} {
		if resp, _ := do(t, "GET", srv.URL+path, "", ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s at max_in_flight = %d, want 200", path, resp.StatusCode)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the refusal and health took %v; they must not wait for a slot", d)
	}

	close(m.release)
	for range 2 {
		if code := <-held; code != http.StatusOK {
			t.Errorf("held request = %d, want 200", code)
		}
	}
	if resp, body := do(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody); resp.StatusCode != http.StatusOK {
		t.Errorf("after the slots were freed: %d %s, want 200", resp.StatusCode, body)
	}
}

// rawRequest opens a connection and sends a chat request's headers with
// the given Content-Length and the first
// part of its body.
func rawRequest(t *testing.T, addr string, length int, first string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", length, first)
	return c
}

func readResponse(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp
}

// TestBodyBudget holds a body that is half sent and checks that a second
// one that does not fit beside it is refused 503 before it is read, while
// a small one that fits is served.
func TestBodyBudget(t *testing.T) {
	s, srv := overloadServer(t, &newModel{asked: make(chan string, 10)}, Overload{BodyBudgetBytes: 3000}, 2048)
	addr := strings.TrimPrefix(srv.URL, "http://")
	slow := rawRequest(t, addr, 2000, `{"model":"m",`)
	deadline := time.Now().Add(5 * time.Second)
	for s.bodies.TryAcquire(3000) { // nothing reserved yet
		s.bodies.Release(3000)
		if time.Now().After(deadline) {
			t.Fatal("the first body never took its share of the budget")
		}
		time.Sleep(5 * time.Millisecond)
	}

	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 1500) + `"}]}`
	resp, body := do(t, "POST", srv.URL+"/v1/chat/completions", "", big)
	if resp.StatusCode != http.StatusServiceUnavailable || errorCode(body) != codeOverloaded || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a body over the budget: %d %s; want 503 overloaded with Retry-After", resp.StatusCode, body)
	}
	shedCount(t, srv.URL, "body_budget", 1)
	if resp, body := do(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody); resp.StatusCode != http.StatusOK {
		t.Errorf("a small body beside it: %d %s, want 200", resp.StatusCode, body)
	}

	// The first body ends (as bad JSON): its share is released.
	fmt.Fprint(slow, strings.Repeat(" ", 2000-len(`{"model":"m",`)))
	if r := readResponse(t, slow); r.StatusCode != http.StatusBadRequest {
		t.Errorf("the first body: %d, want 400", r.StatusCode)
	}
	if resp, body := do(t, "POST", srv.URL+"/v1/chat/completions", "", big); resp.StatusCode != http.StatusOK {
		t.Errorf("the large body once the budget is free: %d %s, want 200", resp.StatusCode, body)
	}
}

// TestSlowBody sends a body one byte per 200ms and checks that it is
// answered 408 and the connection closed long before it would end, while
// a body that arrives at once is served under the same limits.
func TestSlowBody(t *testing.T) {
	_, srv := overloadServer(t, &newModel{asked: make(chan string, 10)}, Overload{BodyGrace: 300 * time.Millisecond, BodyMinRate: 1000}, 0)
	addr := strings.TrimPrefix(srv.URL, "http://")

	if resp, body := do(t, "POST", srv.URL+"/v1/chat/completions", "", chatBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("a body sent at once: %d %s, want 200", resp.StatusCode, body)
	}

	c := rawRequest(t, addr, 200, "{")
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() { // one byte per 200ms until the server stops reading
		defer close(sent)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for range 199 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	resp := readResponse(t, c)
	took := time.Since(start)
	close(stop)
	<-sent
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || errorCode(string(body)) != codeSlowBody {
		t.Errorf("a slow body: %d %s, want 408 %s", resp.StatusCode, body, codeSlowBody)
	}
	if took > 3*time.Second {
		t.Errorf("the slow body was answered after %v; its deadline was under a second", took)
	}
	if !resp.Close {
		t.Error("the answer to a slow body keeps the connection open")
	}
	shedCount(t, srv.URL, "slow_body", 1)
}

// shedCount checks cato_shed_total{reason} on /metrics.
func shedCount(t *testing.T, base, reason string, want int) {
	t.Helper()
	_, body := do(t, "GET", base+"/metrics", "", "")
	line := fmt.Sprintf("cato_shed_total{reason=%q} %d\n", reason, want)
	if !strings.Contains(body, line) {
		t.Errorf("/metrics lacks %q", strings.TrimSpace(line))
	}
}
