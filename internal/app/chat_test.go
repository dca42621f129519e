package app

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestChatCompletionProxiesToOpenAICompatibleUpstream(t *testing.T) {
	var got map[string]any
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			t.Errorf("upstream path = %s; want /v1/chat/completions", r.URL.Path)
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Errorf("upstream body: %v", err)
		}
		writeJSON(w, 200, map[string]any{
			"id": "up-1", "object": "chat.completion", "created": 1, "model": "up-haiku",
			"choices": []any{map[string]any{
				"index": 0, "finish_reason": "stop",
				"message":  map[string]any{"role": "assistant", "content": "Paris."},
				"logprobs": map[string]any{"content": []any{map[string]any{"token": "Paris", "logprob": -0.01}}},
			}},
			"usage": map[string]any{"prompt_tokens": 11, "completion_tokens": 2, "total_tokens": 13},
		})
	}))
	defer up.Close()
	base := gateway(t, upstreamConfig(up.URL))

	resp, body := post(t, base+"/v1/chat/completions", `{
		"model": "bedrock_haiku",
		"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}],
		"temperature": 0.2, "max_tokens": 20,
		"response_format": {"type": "json_object"}, "logprobs": true, "seed": 7
	}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d, body %s; want 200", resp.StatusCode, body)
	}
	// Fields Cato does not interpret reach the upstream unchanged, and the
	// upstream's own model id replaces the tier name.
	for k, want := range map[string]any{
		"model": "up-haiku", "response_format": map[string]any{"type": "json_object"},
		"logprobs": true, "seed": 7.0, "temperature": 0.2, "max_tokens": 20.0,
	} {
		if diff := cmp.Diff(want, got[k]); diff != "" {
			t.Errorf("upstream field %s mismatch (-want +got):\n%s", k, diff)
		}
	}
	type answer struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			Logprobs     json.RawMessage `json:"logprobs"`
			FinishReason string          `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens, CompletionTokens, TotalTokens int
		} `json:"usage"`
		Cato struct {
			Model        string `json:"model"`
			Cached       bool   `json:"cached"`
			FallbackUsed bool   `json:"fallback_used"`
		} `json:"cato"`
	}
	a := decode[answer](t, body)
	if a.Choices[0].Message.Content != "Paris." || a.Choices[0].FinishReason != "stop" {
		t.Errorf("answer = %+v; want Paris. / stop", a.Choices[0])
	}
	if !strings.Contains(string(a.Choices[0].Logprobs), `"Paris"`) {
		t.Errorf("logprobs = %s; want the upstream's logprobs passed back", a.Choices[0].Logprobs)
	}
	if a.Cato.Model != "bedrock_haiku" || a.Cato.FallbackUsed {
		t.Errorf("cato = %+v; want model bedrock_haiku without fallback", a.Cato)
	}
	if got, want := resp.Header.Get("X-Cato-Model"), "bedrock_haiku"; got != want {
		t.Errorf("X-Cato-Model = %q; want %q", got, want)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Error("X-Request-Id missing")
	}
}

// sseUpstream streams chunks, waiting on release before the last one, so a
// test can prove the first chunk reached the client while the upstream was
// still generating.
func sseUpstream(t *testing.T, release <-chan struct{}, cancelled chan<- struct{}) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Stream        bool `json:"stream"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream || !req.StreamOptions.IncludeUsage {
			t.Errorf("upstream request stream=%v include_usage=%v; want both true", req.Stream, req.StreamOptions.IncludeUsage)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		io.WriteString(w, `data: {"id":"s1","object":"chat.completion.chunk","model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`+"\n\n")
		fl.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			if cancelled != nil {
				close(cancelled)
			}
			return
		}
		io.WriteString(w, `data: {"id":"s1","object":"chat.completion.chunk","model":"up","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`+"\n\n")
		io.WriteString(w, `data: {"id":"s1","object":"chat.completion.chunk","model":"up","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`+"\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
		fl.Flush()
	}))
}

func TestStreamReachesClientChunkByChunk(t *testing.T) {
	release := make(chan struct{})
	up := sseUpstream(t, release, nil)
	defer up.Close()
	base := gateway(t, upstreamConfig(up.URL))

	req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(
		`{"model":"bedrock_haiku","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	rd := bufio.NewReader(resp.Body)
	first := readEvent(t, rd)
	if !strings.Contains(first, `"content":"Hel"`) {
		t.Fatalf("first event = %s; want the first chunk", first)
	}
	// The upstream has not sent its last chunk yet: the first one was not
	// buffered.
	close(release)
	var events []string
	for {
		ev := readEvent(t, rd)
		events = append(events, ev)
		if ev == "[DONE]" {
			break
		}
	}
	all := strings.Join(events, "\n")
	for _, want := range []string{`"content":"lo"`, `"finish_reason":"stop"`, `"total_tokens":7`, `"cato":{"model":"bedrock_haiku"`} {
		if !strings.Contains(all, want) {
			t.Errorf("stream lacks %s; got:\n%s", want, all)
		}
	}
}

func readEvent(t *testing.T, rd *bufio.Reader) string {
	t.Helper()
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		if data, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data: "); ok {
			return data
		}
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	cancelled := make(chan struct{})
	up := sseUpstream(t, make(chan struct{}), cancelled)
	defer up.Close()
	base := gateway(t, upstreamConfig(up.URL))

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", strings.NewReader(
		`{"model":"bedrock_haiku","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readEvent(t, bufio.NewReader(resp.Body))
	cancel()
	resp.Body.Close()
	select {
	case <-cancelled:
	case <-time.After(15 * time.Second):
		t.Fatal("the upstream call was not cancelled within 15s of the client going away")
	}
}

func TestUpstreamErrorsAreMapped(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantStatus int
		wantRetry  string
		wantCalls  int32 // calls that reached the upstream: two attempts per model of the chain
	}{
		// Retry-After: 1 is longer than retries.max (5ms): one attempt per model, no wait.
		{"rate limited", 429, map[string]string{"Retry-After": "1"}, `{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit"}}`, 429, "1", 2},
		{"bad request from model", 400, nil, `{"error":{"message":"bad temperature","type":"invalid_request_error"}}`, 400, "", 1},
		{"server error", 500, nil, `oops`, 502, "", 4},
		{"unavailable", 503, nil, ``, 503, "", 4},
		{"upstream auth", 401, nil, `{"error":{"message":"bad key"}}`, 502, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer up.Close()
			base := gateway(t, upstreamConfig(up.URL))
			resp, body := post(t, base+"/v1/chat/completions", `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d (%s); want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q; want %q", got, tt.wantRetry)
			}
			e := decode[struct {
				Error struct {
					Message, Type string
				}
			}](t, body)
			if e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("body = %s; want an OpenAI error object", body)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("upstream calls = %d; want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestUnreachableUpstreamIsBadGateway(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	url := up.URL
	up.Close() // a refused port
	base := gateway(t, upstreamConfig(url))
	resp, body := post(t, base+"/v1/chat/completions", `{"model":"bedrock_haiku","messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status = %d (%s); want 502", resp.StatusCode, body)
	}
}
