package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
)

// stallingModel accepts every call and never answers; healthyModel answers
// at once.
type stallingModel struct{}

func (stallingModel) Chat(ctx context.Context, _ *llm.Request) (*llm.Response, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (stallingModel) ChatStream(ctx context.Context, _ *llm.Request) (llm.Stream, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

type healthyModel struct{}

func (healthyModel) Chat(context.Context, *llm.Request) (*llm.Response, error) {
	return &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, FinishReason: llm.FinishStop}, nil
}

func (healthyModel) ChatStream(context.Context, *llm.Request) (llm.Stream, error) {
	return &oneChunk{}, nil
}

type oneChunk struct{ done bool }

func (s *oneChunk) Next() (llm.Chunk, error) {
	if s.done {
		return llm.Chunk{}, io.EOF
	}
	s.done = true
	return llm.Chunk{Content: "ok"}, nil
}

func (s *oneChunk) Close() error { return nil }

// With the default settings a primary that accepts calls and never
// answers leaves its fallback time to answer within retries.budget.
func TestDefaultsLeaveTheFallbackItsTime(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				models := map[string]provider.Provider{"bedrock_sonnet": stallingModel{}, "bedrock_haiku": healthyModel{}}
				guards := provider.NewGuards(models, func(model string) (provider.GuardConfig, breaker.Config) {
					return guardConfig(cfg, model)
				}, provider.GuardHooks{}, nil)
				f := provider.NewFallback(provider.Lookup(guards), cfg.Retries.Budget, nil)
				chain := append([]string{"bedrock_sonnet"}, cfg.Routing.Fallbacks["bedrock_sonnet"]...)
				req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
				start := time.Now()
				var model string
				if stream {
					sa, err := f.ChatStream(t.Context(), chain, req)
					if err != nil {
						t.Fatalf("ChatStream() = %v; want the fallback's answer", err)
					}
					sa.Stream.Close()
					model = sa.Model
				} else {
					a, err := f.Chat(t.Context(), chain, req)
					if err != nil {
						t.Fatalf("Chat() = %v; want the fallback's answer", err)
					}
					model = a.Model
				}
				elapsed := time.Since(start)
				if model != "bedrock_haiku" {
					t.Errorf("answered by %s; want the fallback bedrock_haiku", model)
				}
				// Two attempts of upstream.timeout and at most retries.max between them.
				if limit := 2*cfg.Upstream.Timeout + 2*time.Second; elapsed > limit || elapsed >= cfg.Retries.Budget {
					t.Errorf("fallback answered after %v; want within %v, inside the %v budget", elapsed, limit, cfg.Retries.Budget)
				}
			})
		})
	}
}

// A 429 with a Retry-After longer than retries.max falls back at once
// through the HTTP API.
func TestLongRetryAfterFallsBackAtOnce(t *testing.T) {
	var calls atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "100")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
	}))
	defer up.Close()
	base := gateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: openai, base_url: %q}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, fallbacks: {bedrock_sonnet: [bedrock_haiku]}}
`, up.URL+"/v1"))
	start := time.Now()
	resp, body := post(t, base+"/v1/chat/completions", `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cato-Model") != "bedrock_haiku" {
		t.Errorf("status %d, model %q (%s); want 200 from bedrock_haiku", resp.StatusCode, resp.Header.Get("X-Cato-Model"), body)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %v; want the fallback at once, not after Retry-After: 100", elapsed)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("primary calls = %d; want 1", n)
	}
}

// sseChunk is one OpenAI stream chunk carrying text.
func sseChunk(text string) string {
	return `data: {"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"` + text + `"},"finish_reason":null}]}` + "\n\n"
}

// A started stream is bounded by the idle timeout between chunks, not by
// the request budget: a slow but healthy stream longer than the budget
// completes, and a stalled one ends with an error event.
func TestStreamIdleTimeoutNotBudget(t *testing.T) {
	tests := []struct {
		name       string
		stallAfter int // chunks sent before the upstream stalls; -1: never
		want       []string
		wantDone   bool
	}{
		{name: "slow healthy stream outlives the budget", stallAfter: -1, want: []string{`"c0"`, `"c5"`}, wantDone: true},
		{name: "stalled stream ends with an error event", stallAfter: 2, want: []string{`"c1"`, `"error":{`, "stream_idle_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for i := range 6 {
					if i == tt.stallAfter {
						<-r.Context().Done()
						return
					}
					io.WriteString(w, sseChunk(fmt.Sprintf("c%d", i)))
					w.(http.Flusher).Flush()
					select {
					case <-time.After(250 * time.Millisecond):
					case <-r.Context().Done():
						return
					}
				}
				io.WriteString(w, "data: [DONE]\n\n")
			}))
			defer up.Close()
			// The budget (1s) is shorter than the healthy stream (1.5s); the
			// idle timeout (1s) is four times its gaps, so that a busy machine
			// that delays a chunk does not make a healthy stream look stalled.
			base := gateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_sonnet: {provider: openai, base_url: %q}
routing: {simple: bedrock_sonnet}
upstream: {timeout: 800ms, stream_idle_timeout: 1s}
retries: {max_attempts: 1, budget: 1s}
`, up.URL+"/v1"))
			start := time.Now()
			resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
				`{"model":"bedrock_sonnet","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatal(err)
			}
			body := string(b)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("stream lacks %s:\n%s", w, body)
				}
			}
			if done := strings.Contains(body, "[DONE]"); done != tt.wantDone {
				t.Errorf("stream ended with [DONE] = %v; want %v:\n%s", done, tt.wantDone, body)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

func TestMaxConnsPerHost(t *testing.T) {
	tests := []struct {
		configured int
		nofile     uint64
		want       int
	}{
		{configured: 0, nofile: 20000, want: 5000},
		{configured: 0, nofile: 1024, want: 256},
		{configured: 0, nofile: 100, want: minConnsPerHost},
		{configured: 0, nofile: 0, want: 0},
		{configured: 10, nofile: 20000, want: 10},
		{configured: -1, nofile: 20000, want: 0},
	}
	for _, tt := range tests {
		if got := maxConnsPerHost(tt.configured, tt.nofile); got != tt.want {
			t.Errorf("maxConnsPerHost(%d, %d) = %d; want %d", tt.configured, tt.nofile, got, tt.want)
		}
	}
}
