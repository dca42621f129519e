package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"golang.org/x/sync/semaphore"

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
		case <-time.After(15 * time.Second):
			t.Fatal("the held requests did not reach the model within 15s")
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

// bubbleServer is a Server for tests in a synctest bubble: requests are
// served through ServeHTTP without a network, their bodies fed through
// pipes, so that synctest.Wait shows where each one stands.
func bubbleServer(caller interface {
	Chat(context.Context, []string, *llm.Request) (provider.Answer, error)
	ChatStream(context.Context, []string, *llm.Request) (provider.StreamAnswer, error)
}, o Overload, maxBody int64) *Server {
	return New(Options{
		Orchestrator: orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: caller, Router: oneRoute{}}),
		MaxBodyBytes: maxBody,
		Overload:     o,
	})
}

// sending is a request being served whose body arrives through a pipe.
type sending struct {
	body *io.PipeWriter
	rec  *httptest.ResponseRecorder
	done chan struct{}
	sent int // body bytes sent so far
}

// send starts serving a POST to path announcing length body bytes and
// sends the first of them; more come with more, the end with finish.
func send(t *testing.T, s *Server, path string, length int, first string) *sending {
	t.Helper()
	pr, pw := io.Pipe()
	req := httptest.NewRequest(http.MethodPost, path, pr)
	req.ContentLength = int64(length)
	x := &sending{body: pw, rec: httptest.NewRecorder(), done: make(chan struct{})}
	go func() { defer close(x.done); s.ServeHTTP(x.rec, req) }()
	x.more(t, first)
	return x
}

func (x *sending) more(t *testing.T, b string) {
	t.Helper()
	if b == "" {
		return
	}
	sent := make(chan error, 1)
	go func() { _, err := io.WriteString(x.body, b); sent <- err }()
	synctest.Wait()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("sending the body: %v", err)
		}
	default:
		t.Fatal("the server stopped reading the body")
	}
	x.sent += len(b)
}

// finish sends the rest of the body and returns the answer.
func (x *sending) finish(t *testing.T, rest string) *httptest.ResponseRecorder {
	t.Helper()
	x.more(t, rest)
	x.body.Close()
	<-x.done
	return x.rec
}

// serve serves one request whose body is sent at once.
func serve(s *Server, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	s.ServeHTTP(rec, httptest.NewRequest(method, path, r))
	return rec
}

// shedIn checks cato_shed_total{reason} on s's /metrics.
func shedIn(t *testing.T, s *Server, reason string, want int) {
	t.Helper()
	line := fmt.Sprintf("cato_shed_total{reason=%q} %d\n", reason, want)
	if body := serve(s, http.MethodGet, "/metrics", "").Body.String(); !strings.Contains(body, line) {
		t.Errorf("/metrics lacks %q", strings.TrimSpace(line))
	}
}

// TestMaxInFlightCountsArrivedBodies fills server.max_in_flight's one
// slot with nothing but a body that is still arriving, and checks that
// other requests are served beside it; then, with the slot held by a
// request the model answers slowly, that the body's request is refused
// 503 when its last byte arrives, and never reaches the model.
func TestMaxInFlightCountsArrivedBodies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &heldModel{started: make(chan struct{}, 10), release: make(chan struct{})}
		s := bubbleServer(m, Overload{MaxInFlight: 1}, 0)
		slow := send(t, s, "/v1/chat/completions", len(chatBody), chatBody[:5])

		ok := make(chan *httptest.ResponseRecorder)
		go func() { ok <- serve(s, http.MethodPost, "/v1/chat/completions", chatBody) }()
		<-m.started
		synctest.Wait()
		// The slot is the full body's: a request without a body is
		// refused, and the slow body, once complete, too.
		if rec := serve(s, http.MethodGet, "/v1/models", ""); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET /v1/models with the slot taken: %d, want 503", rec.Code)
		}
		rec := slow.finish(t, chatBody[5:])
		if rec.Code != http.StatusServiceUnavailable || errorCode(rec.Body.String()) != codeOverloaded || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("the slow body complete with the slot taken: %d Retry-After=%q %s; want 503 overloaded, Retry-After: 1", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		select {
		case <-m.started:
			t.Error("the refused request reached the model")
		default:
		}
		close(m.release)
		if rec := <-ok; rec.Code != http.StatusOK {
			t.Errorf("the request beside the slow body: %d %s, want 200", rec.Code, rec.Body)
		}
		shedIn(t, s, "in_flight", 2)

		// A slot free again: a slow body that completes is served.
		slow = send(t, s, "/v1/chat/completions", len(chatBody), chatBody[:5])
		if rec := serve(s, http.MethodGet, "/v1/models", ""); rec.Code != http.StatusOK {
			t.Errorf("GET /v1/models beside a slow body: %d, want 200", rec.Code)
		}
		if rec := slow.finish(t, chatBody[5:]); rec.Code != http.StatusOK {
			t.Errorf("the slow body, the slot free: %d %s, want 200", rec.Code, rec.Body)
		}
		<-m.started
	})
}

// TestEveryBodyRouteCounted checks that each client route taking a body
// is counted against server.max_in_flight once its body is read: with
// the only slot held, each is refused 503 overloaded.
func TestEveryBodyRouteCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &heldModel{started: make(chan struct{}, 10), release: make(chan struct{})}
		s := bubbleServer(m, Overload{MaxInFlight: 1}, 0)
		held := make(chan *httptest.ResponseRecorder)
		go func() { held <- serve(s, http.MethodPost, "/v1/chat/completions", chatBody) }()
		<-m.started
		n := 0
		for _, rt := range s.routes() {
			if rt.access != client {
				continue
			}
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
				if rt.handlers[method] == nil {
					continue
				}
				path := strings.ReplaceAll(rt.path, "{id}", "s1")
				if rec := serve(s, method, path, chatBody); rec.Code != http.StatusServiceUnavailable || errorCode(rec.Body.String()) != codeOverloaded {
					t.Errorf("%s %s with the slot taken: %d %s, want 503 overloaded", method, path, rec.Code, rec.Body)
				}
				n++
			}
		}
		if n < 3 {
			t.Errorf("%d client routes take a body; want at least chat, responses and query", n)
		}
		close(m.release)
		<-held
	})
}

// TestBodyBudgetAsBytesArrive holds bodies that are partly sent and
// checks that each holds budget for what has arrived, not for its
// Content-Length: a large body is served beside a slow announcer of a
// large one, a body whose next share does not fit is refused 503 with
// Retry-After and its connection closed, and the budget comes back when
// the bodies' requests end.
func TestBodyBudgetAsBytesArrive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := bubbleServer(&newModel{asked: make(chan string, 10)}, Overload{BodyBudgetBytes: 3000}, 2048)
		big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 1500) + `"}]}`

		// Announces 2,000 bytes, has sent 13: holds the first share.
		slow := send(t, s, "/v1/chat/completions", 2000, `{"model":"m",`)
		if rec := serve(s, http.MethodPost, "/v1/chat/completions", big); rec.Code != http.StatusOK {
			t.Fatalf("a large body beside a slow announcer: %d %s, want 200", rec.Code, rec.Body)
		}
		// A second one has sent 1,500 of 2,000: it holds all 2,000 (its
		// buffer grew 512 → 1,024 → 2,000), 2,512 in all.
		slow2 := send(t, s, "/v1/chat/completions", 2000, `{"model":"m",`+strings.Repeat(" ", 1500-13))
		if !s.bodies.TryAcquire(3000 - 2512) {
			t.Fatal("the bodies hold more than 2,512 bytes of the budget")
		}
		s.bodies.Release(3000 - 2512)
		rec := serve(s, http.MethodPost, "/v1/chat/completions", big)
		if rec.Code != http.StatusServiceUnavailable || errorCode(rec.Body.String()) != codeOverloaded || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Connection") != "close" {
			t.Fatalf("a body that does not fit: %d Retry-After=%q Connection=%q %s; want 503 overloaded, Retry-After, Connection: close",
				rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Connection"), rec.Body)
		}
		shedIn(t, s, "body_budget", 1)

		// The bodies end (as bad JSON), the one holding most first: their
		// shares come back.
		for _, x := range []*sending{slow2, slow} {
			if rec := x.finish(t, strings.Repeat(" ", 2000-x.sent)); rec.Code != http.StatusBadRequest {
				t.Errorf("a slow body, complete: %d %s, want 400", rec.Code, rec.Body)
			}
		}
		if !s.bodies.TryAcquire(3000) {
			t.Error("the budget was not all given back")
		}
	})
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

// TestBudgetedRead reads bodies of several lengths under several limits
// and budgets, and checks what is read, what of the budget is taken and
// held, and the failures.
func TestBudgetedRead(t *testing.T) {
	tests := []struct {
		name     string
		body     int
		limit    int64
		budget   int64 // 0: none
		wantTook int64
		wantErr  error
	}{
		{"empty", 0, 100, 1000, 100, nil},
		{"under the first share", 100, 100, 1000, 100, nil},
		{"grows to the limit", 2000, 2000, 4000, 2000, nil},
		{"grows by doubling", 1500, 4096, 4096, 2048, nil},
		{"no budget", 3000, 3000, 0, 0, nil},
		{"budget runs out", 2000, 2000, 1500, 1024, errBodyBudget},
		{"first share does not fit", 10, 1000, 100, 0, errBodyBudget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sem *semaphore.Weighted
			if tt.budget > 0 {
				sem = semaphore.NewWeighted(tt.budget)
			}
			want := strings.Repeat("x", tt.body)
			// One byte per read, as a slow client sends them.
			got, took, err := budgetedRead(iotest.OneByteReader(strings.NewReader(want)), tt.limit, sem)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if took != tt.wantTook {
				t.Errorf("took %d of the budget, want %d", took, tt.wantTook)
			}
			if err == nil && string(got) != want {
				t.Errorf("read %d bytes, want %d", len(got), len(want))
			}
			if sem != nil && !sem.TryAcquire(tt.budget-took) {
				t.Errorf("the budget holds more than the %d taken", took)
			}
		})
	}
	_, _, err := budgetedRead(strings.NewReader("toolong"), 3, nil)
	if err == nil {
		t.Error("a body longer than the limit was read")
	}
}
