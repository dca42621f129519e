package app

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStreamFallback checks that a stream falls back to the next model only
// before its first byte reached the client, and reports a later failure in
// the stream.
func TestStreamFallback(t *testing.T) {
	tests := []struct {
		name       string
		sonnet     http.HandlerFunc
		wantModel  string
		wantInBody string
		wantNoDone bool
	}{
		{
			name: "reset before the first byte falls back",
			sonnet: func(w http.ResponseWriter, r *http.Request) {
				panic(http.ErrAbortHandler)
			},
			wantModel:  "bedrock_haiku",
			wantInBody: `"fallback_used":true`,
		},
		{
			name: "stall falls back after the attempt timeout",
			sonnet: func(w http.ResponseWriter, r *http.Request) {
				// Reading the body lets the server notice the client leaving.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			},
			wantModel:  "bedrock_haiku",
			wantInBody: `"fallback_used":true`,
		},
		{
			name: "503 before the first byte falls back",
			sonnet: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(503)
			},
			wantModel:  "bedrock_haiku",
			wantInBody: `"fallback_used":true`,
		},
		{
			name: "reset after the first chunk is reported in the stream",
			sonnet: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, `data: {"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}]}`+"\n\n")
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			},
			wantModel:  "bedrock_sonnet",
			wantInBody: `"error":{`,
			wantNoDone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(tt.sonnet)
			defer up.Close()
			// The attempt timeout leaves a busy machine time for Sonnet's
			// first chunk, which must not fall back.
			base := gateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  bedrock_haiku: {provider: simulated}
  bedrock_sonnet: {provider: openai, base_url: %q, timeout: 1s}
  shadow_self: {provider: simulated}
routing: {simple: bedrock_haiku, complex: bedrock_sonnet, hidden_states: shadow_self, fallbacks: {bedrock_sonnet: [bedrock_haiku]}}
retries: {max_attempts: 1}
`, up.URL+"/v1"))
			start := time.Now()
			resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
				`{"model":"bedrock_sonnet","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("X-Cato-Model"); got != tt.wantModel {
				t.Errorf("X-Cato-Model = %q; want %q", got, tt.wantModel)
			}
			b, _ := io.ReadAll(bufio.NewReader(resp.Body))
			body := string(b)
			if !strings.Contains(body, tt.wantInBody) {
				t.Errorf("stream lacks %s:\n%s", tt.wantInBody, body)
			}
			if done := strings.Contains(body, "[DONE]"); done == tt.wantNoDone {
				t.Errorf("stream ended with [DONE] = %v; want %v", done, !tt.wantNoDone)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v; want the failure handled within the attempt timeout", time.Since(start))
			}
		})
	}
}
