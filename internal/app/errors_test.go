package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// TestUpstreamErrorsPassThrough: an OpenAI-compatible upstream's error
// reaches the client with its status and its error document unchanged
// (type, code, param, message), Cato's account in X-Cato-* headers; 429s
// are retried and fall back without opening the breaker; and a 503 from an
// open breaker says when to try again.
func TestUpstreamErrorsPassThrough(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantRetry string
		wantCalls int32 // two attempts per model of the chain bedrock_sonnet → bedrock_haiku
	}{
		{
			name: "400 with param", status: 400, wantCalls: 1,
			body: `{"error":{"message":"Invalid 'messages[0].content': string too long.","type":"invalid_request_error","param":"messages[0].content","code":"string_above_max_length"}}`,
		},
		{
			name: "429 with its type", status: 429, wantRetry: "1", wantCalls: 4,
			body: `{"error":{"message":"Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
		},
		{
			name: "404 model", status: 404, wantCalls: 1,
			body: `{"error":{"message":"The model 'gpt-9' does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
		},
		{
			name: "500 with a document", status: 500, wantCalls: 4,
			body: `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null,"x_extra":1}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer up.Close()
			base := gateway(t, upstreamConfig(up.URL))
			resp, body := post(t, base+"/v1/chat/completions", `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d; want the upstream's %d", resp.StatusCode, tt.status)
			}
			if got := string(bytes.TrimSpace(body)); got != tt.body {
				t.Errorf("body = %s\nwant the upstream's %s", got, tt.body)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q; want %q", got, tt.wantRetry)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("upstream calls = %d; want %d", got, tt.wantCalls)
			}
			wantModel, wantTried := "bedrock_sonnet", "bedrock_sonnet"
			if tt.wantCalls > 1 {
				wantTried = "bedrock_sonnet, bedrock_haiku"
			}
			if m, tried := resp.Header.Get("X-Cato-Model"), resp.Header.Get("X-Cato-Tried"); m != wantModel || tried != wantTried {
				t.Errorf("X-Cato-Model, X-Cato-Tried = %q, %q; want %q, %q", m, tried, wantModel, wantTried)
			}
		})
	}

	t.Run("429s never open the breaker", func(t *testing.T) {
		var calls atomic.Int32
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
		}))
		defer up.Close()
		base := gateway(t, upstreamConfig(up.URL)+"breakers: {default: {failures: 2}}\n")
		for i := range 5 {
			resp, body := post(t, base+"/v1/chat/completions", `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`)
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request %d: status %d (%s); want the upstream's 429, not an open breaker", i, resp.StatusCode, body)
			}
		}
		if got := calls.Load(); got != 20 {
			t.Errorf("upstream calls = %d; want 20 (every attempt made)", got)
		}
	})

	t.Run("an open breaker's 503 carries Retry-After", func(t *testing.T) {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`)
		}))
		defer up.Close()
		base := gateway(t, upstreamConfig(up.URL)+"breakers: {default: {failures: 2, cooldown: 20s}}\n")
		// Two attempts on each model open both breakers.
		if resp, _ := post(t, base+"/v1/chat/completions", `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`); resp.StatusCode != 500 {
			t.Fatalf("first request: status %d; want the upstream's 500", resp.StatusCode)
		}
		resp, body := post(t, base+"/v1/chat/completions", `{"model":"bedrock_sonnet","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"breaker_open"`)) {
			t.Fatalf("second request: status %d (%s); want 503 breaker_open", resp.StatusCode, body)
		}
		retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 20 {
			t.Errorf("Retry-After = %q; want the seconds left of the 20s cooldown", resp.Header.Get("Retry-After"))
		}
	})
}
