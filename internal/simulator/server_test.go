package simulator

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestServerOpenAIWire(t *testing.T) {
	srv := httptest.NewServer(NewServer(Options{}, map[string]Options{"broken": {ErrorRate: 1, ErrorStatus: 429}, "cut": {ResetRate: 1}}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	post := func(body string) (*http.Response, string, error) {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, string(b), err
	}
	resp, body, err := post(`{"model":"m","messages":[{"role":"user","content":"What is 1+1?"}]}`)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(body, `"content":"2 (simulated`) {
		t.Fatalf("plain answer: %v %v %s", err, resp, body)
	}
	resp, body, err = post(`{"model":"m","stream":true,"stream_options":{"include_usage":true},"return_hidden_states":true,"messages":[{"role":"user","content":"hi"}]}`)
	if err != nil || !strings.HasSuffix(body, "data: [DONE]\n\n") || !strings.Contains(body, `"hidden_states":[`) || !strings.Contains(body, `"usage":{`) {
		t.Fatalf("stream: %v %s", err, body)
	}
	resp, _, err = post(`{"model":"broken","messages":[{"role":"user","content":"hi"}]}`)
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("injected error: %v %v; want 429 with Retry-After", err, resp)
	}
	_, body, err = post(`{"model":"cut","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if err == nil && strings.Contains(body, "[DONE]") {
		t.Fatalf("reset stream finished normally: %s", body)
	}
	resp, _, _ = post(`{"model":"m"}`)
	if resp.StatusCode != 400 {
		t.Errorf("bad request status = %d; want 400", resp.StatusCode)
	}
}
