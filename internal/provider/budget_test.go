package provider

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/llm"
)

// A 429 whose Retry-After is longer than the backoff's max falls back at
// once instead of sleeping with a healthy fallback configured.
func TestFallbackLongRetryAfterFallsBackAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		primary := chatSeq(fail(upstreamErr(429, 100*time.Second)), answer("late"))
		fallback := chatSeq(answer("ok"))
		guards := map[string]Provider{
			"a": NewGuard("a", primary, nil, GuardConfig{MaxAttempts: 2}, nil),
			"b": NewGuard("b", fallback, nil, GuardConfig{MaxAttempts: 2}, nil),
		}
		f := NewFallback(Lookup(guards), 120*time.Second, nil)
		start := time.Now()
		a, err := f.Chat(t.Context(), []string{"a", "b"}, req)
		if err != nil {
			t.Fatalf("Chat() = %v; want the fallback's answer", err)
		}
		if a.Model != "b" || a.Response.Message.Content != "ok" {
			t.Errorf("answered by %s with %q; want b with %q", a.Model, a.Response.Message.Content, "ok")
		}
		if elapsed := time.Since(start); elapsed != 0 {
			t.Errorf("elapsed %v; want 0 (no wait for Retry-After: 100)", elapsed)
		}
		if primary.Calls() != 1 {
			t.Errorf("primary calls = %d; want 1", primary.Calls())
		}
	})
}

// A stream that has started is not cut by the request budget: a slow but
// healthy answer longer than the budget completes.
func TestFallbackSlowStreamOutlivesBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := streamSeq(func(ctx context.Context) (llm.Stream, error) {
			return &chunkStream{ctx: ctx, chunks: textChunks("a", "b", "c", "d", "e"), pause: 10 * time.Second, end: io.EOF}, nil
		})
		guards := map[string]Provider{
			"a": NewGuard("a", slow, nil, GuardConfig{Timeout: 15 * time.Second, StreamIdleTimeout: 15 * time.Second}, nil),
		}
		f := NewFallback(Lookup(guards), 20*time.Second, nil)
		start := time.Now()
		sa, err := f.ChatStream(t.Context(), []string{"a"}, req)
		if err != nil {
			t.Fatalf("ChatStream() = %v", err)
		}
		text, err := readAll(sa.Stream)
		if err != nil || text != "abcde" {
			t.Fatalf("stream = %q, %v; want %q, nil", text, err, "abcde")
		}
		if elapsed := time.Since(start); elapsed != 50*time.Second {
			t.Errorf("elapsed %v; want 50s, past the 20s budget", elapsed)
		}
	})
}

// A stream that stops sending ends after the idle timeout with a 504
// stream_idle_timeout that counts against the model's breaker.
func TestGuardStreamIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stalls := streamSeq(func(ctx context.Context) (llm.Stream, error) {
			return &stallAfterFirst{ctx: ctx}, nil
		})
		var rec recorder
		b := breaker.New("a", breaker.Config{Failures: 1}, breaker.Options{})
		g := NewGuard("a", stalls, b, GuardConfig{Timeout: time.Minute, StreamIdleTimeout: 30 * time.Second, OnCallDone: rec.record}, nil)
		s, err := g.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatalf("ChatStream() = %v", err)
		}
		start := time.Now()
		text, err := readAll(s)
		if text != "first" {
			t.Errorf("text = %q; want %q", text, "first")
		}
		if status, code := statusOf(err); status != http.StatusGatewayTimeout || code != string(CodeStreamIdle) {
			t.Errorf("Next() = %v (status %d, code %q); want 504 %s", err, status, code, CodeStreamIdle)
		}
		if elapsed := time.Since(start); elapsed != 30*time.Second {
			t.Errorf("stalled stream ended after %v; want the 30s idle timeout", elapsed)
		}
		if got := b.State(); got != breaker.Open {
			t.Errorf("breaker = %v; want open: a stalled stream is the model's failure", got)
		}
	})
}

// The idle timeout counts only the wait inside Next: a caller that takes
// long between chunks does not fail a healthy stream.
func TestGuardStreamIdleTimeoutIgnoresSlowReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := streamSeq(streams("a", "b", "c"))
		g := NewGuard("a", fast, nil, GuardConfig{StreamIdleTimeout: time.Second}, nil)
		s, err := g.ChatStream(t.Context(), req)
		if err != nil {
			t.Fatalf("ChatStream() = %v", err)
		}
		defer s.Close()
		var text string
		for {
			c, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Next() = %v; want the whole stream", err)
			}
			text += c.Content
			time.Sleep(5 * time.Second) // a slow client
		}
		if text != "abc" {
			t.Errorf("text = %q; want abc", text)
		}
	})
}

// Failures of Cato's own making never count against the breaker.
func TestGuardLocalFailuresDoNotCount(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"EMFILE", &Error{Model: "m", StatusCode: 502, Code: CodeUpstreamUnreachable, Retryable: true, Err: errors.Join(errors.New("dial tcp: socket"), errEMFILE)}},
		{"queue full", ErrOverloaded},
		{"canceled by Cato", context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := breaker.New("m", breaker.Config{Failures: 1}, breaker.Options{})
				g := NewGuard("m", chatSeq(fail(tt.err)), b, GuardConfig{MaxAttempts: 1}, nil)
				for range 3 {
					if _, err := g.Chat(t.Context(), req); err == nil {
						t.Fatal("Chat() = nil error; want the local failure")
					}
				}
				if s := b.Snapshot(); s.State != breaker.Closed || s.Failures != 0 {
					t.Errorf("breaker = %v with %d failures; want closed with none", s.State, s.Failures)
				}
			})
		})
	}
}

// An attempt that runs out of time while it waits for a connection of
// Cato's own pool (the per-host cap) is not the model's failure; one that
// got a connection and heard nothing is.
func TestGuardPoolWaitTimeoutDoesNotCount(t *testing.T) {
	release := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := newTestServer(t, upstream)
	defer close(release)
	hc := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	call := func(ctx context.Context) (*llm.Response, error) {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := hc.Do(r)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return &llm.Response{}, nil
	}
	b := breaker.New("m", breaker.Config{Failures: 1}, breaker.Options{})
	hold := NewGuard("m", &fakeProvider{chat: func(ctx context.Context, _ *llm.Request) (*llm.Response, error) { return call(ctx) }}, nil, GuardConfig{}, nil)
	holdCtx, stopHold := context.WithCancel(t.Context())
	defer stopHold()
	go hold.Chat(holdCtx, req) // takes the one connection and keeps it
	waitFor(t, func() bool { return srv.Requests() == 1 })

	g := NewGuard("m", &fakeProvider{chat: func(ctx context.Context, _ *llm.Request) (*llm.Response, error) { return call(ctx) }}, b, GuardConfig{Timeout: 50 * time.Millisecond}, nil)
	_, err := g.Chat(t.Context(), req)
	if status, code := statusOf(err); status != http.StatusServiceUnavailable || code != string(CodeLocalExhausted) {
		t.Errorf("Chat() = %v (status %d, code %q); want 503 %s", err, status, code, CodeLocalExhausted)
	}
	if s := b.State(); s != breaker.Closed {
		t.Errorf("breaker = %v; want closed: waiting for Cato's own pool is not the model's failure", s)
	}
}

// stallAfterFirst yields one chunk, then nothing until ctx is done.
type stallAfterFirst struct {
	ctx  context.Context
	sent bool
}

func (s *stallAfterFirst) Next() (llm.Chunk, error) {
	if !s.sent {
		s.sent = true
		return llm.Chunk{Content: "first"}, nil
	}
	<-s.ctx.Done()
	return llm.Chunk{}, s.ctx.Err()
}

func (s *stallAfterFirst) Close() error { return nil }

var errEMFILE = syscall.EMFILE

// countingServer is an httptest server that counts requests.
type countingServer struct {
	*httptest.Server
	n atomic.Int64
}

func (s *countingServer) Requests() int64 { return s.n.Load() }

func newTestServer(t *testing.T, h http.Handler) *countingServer {
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// waitFor polls cond for up to 15s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 15s")
}

// The request's budget ends an attempt whose own timeout is longer, and a
// wait for a concurrency slot: the chain ends with a 504 that names the
// budget, and the model's breaker does not count it.
func TestFallbackBudgetEndsAttemptAndSlotWait(t *testing.T) {
	t.Run("attempt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := breaker.New("a", breaker.Config{Failures: 1}, breaker.Options{})
			var outcomes []breaker.Outcome
			cfg := GuardConfig{Timeout: 30 * time.Second, MaxAttempts: 3, OnCallDone: func(cd CallDone) { outcomes = append(outcomes, cd.Outcome) }}
			p := chatSeq(stall)
			f := NewFallback(Lookup(map[string]*Guard{"a": NewGuard("a", p, b, cfg, nil)}), 5*time.Second, nil)
			start := time.Now()
			_, err := f.Chat(t.Context(), []string{"a"}, &llm.Request{})
			if status, code := statusOf(err); status != http.StatusGatewayTimeout || code != string(CodeDeadlineExceeded) || !errors.Is(err, errBudget) {
				t.Fatalf("Chat() = %v (%d %s); want a 504 deadline_exceeded naming the budget", err, status, code)
			}
			if d := time.Since(start); d != 5*time.Second {
				t.Errorf("Chat() took %v; want the budget, 5s", d)
			}
			if p.Calls() != 1 || len(outcomes) != 1 || outcomes[0] != breaker.Ignored {
				t.Errorf("calls %d, outcomes %v; want one attempt, ignored by the breaker", p.Calls(), outcomes)
			}
			if s := b.State(); s != breaker.Closed {
				t.Errorf("breaker %v; want closed", s)
			}
		})
	})
	t.Run("slot", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := NewGuard("a", chatSeq(answer("ok")), nil, GuardConfig{MaxConcurrency: 1, MaxQueue: 1}, nil)
			if err := g.acquire(t.Context(), false, time.Time{}); err != nil {
				t.Fatal(err)
			}
			defer g.limit.release()
			f := NewFallback(Lookup(map[string]*Guard{"a": g}), 5*time.Second, nil)
			start := time.Now()
			_, err := f.Chat(t.Context(), []string{"a"}, &llm.Request{})
			if !errors.Is(err, errBudget) || time.Since(start) != 5*time.Second {
				t.Fatalf("Chat() = %v after %v; want the budget's error after 5s", err, time.Since(start))
			}
		})
	})
}
