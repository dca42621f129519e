package embed

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/provider"
)

// openAIServer speaks POST /v1/embeddings and records the inputs of each request.
type openAIServer struct {
	mu      sync.Mutex
	batches [][]string
	status  int
	body    string
}

func (s *openAIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		http.Error(w, "bad key "+got, http.StatusUnauthorized)
		return
	}
	var req openAIRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "nomic-embed-text" || req.EncodingFormat != "float" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.batches = append(s.batches, req.Input)
	status, body := s.status, s.body
	s.mu.Unlock()
	if status != 0 {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(status)
		w.Write([]byte(body))
		return
	}
	if body != "" {
		w.Write([]byte(body))
		return
	}
	// Answer in reverse order, as the index field allows, unnormalised.
	type datum struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	}
	var data []datum
	for i := len(req.Input) - 1; i >= 0; i-- {
		data = append(data, datum{"embedding", i, []float32{float32(len(req.Input[i])), 0, 0}})
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model, "usage": map[string]int{"prompt_tokens": 3, "total_tokens": 3}})
}

func newOpenAITest(t *testing.T, s *openAIServer, batch int) *OpenAI {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	o, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL + "/v1/", Model: "nomic-embed-text", APIKey: "sk-test", BatchSize: batch, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOpenAIBatches(t *testing.T) {
	s := &openAIServer{}
	o := newOpenAITest(t, s, 2)
	if o.Dim() != 0 {
		t.Errorf("Dim() before any call = %d; want 0", o.Dim())
	}
	got, err := o.Embed(context.Background(), []string{"a", "bb", "ccc", "dddd", "e"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}, {1, 0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vectors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"a", "bb"}, {"ccc", "dddd"}, {"e"}}, s.batches); diff != "" {
		t.Errorf("batches sent (-want +got):\n%s", diff)
	}
	if o.Dim() != 3 {
		t.Errorf("Dim() = %d; want 3", o.Dim())
	}
}

func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		body          string
		wantStatus    int
		wantRetryable bool
		wantAfter     time.Duration
	}{
		{"throttled", http.StatusTooManyRequests, `{"error":{"message":"slow down"}}`, 429, true, 3 * time.Second},
		{"rejected", http.StatusBadRequest, `{"error":{"message":"too long"}}`, 400, false, 3 * time.Second},
		{"not json", 0, `<html>`, 502, false, 0},
		{"missing input", 0, `{"data":[{"index":0,"embedding":[1]}]}`, 502, false, 0},
		{"bad index", 0, `{"data":[{"index":7,"embedding":[1]},{"index":0,"embedding":[1]}]}`, 502, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOpenAITest(t, &openAIServer{status: tt.status, body: tt.body}, 0)
			_, err := o.Embed(context.Background(), []string{"a", "b"})
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Embed error = %v; want a *provider.Error", err)
			}
			if pe.StatusCode != tt.wantStatus || pe.Retryable != tt.wantRetryable || pe.RetryAfter != tt.wantAfter {
				t.Errorf("error = %+v; want status %d retryable %v retry-after %v", pe, tt.wantStatus, tt.wantRetryable, tt.wantAfter)
			}
		})
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // a refused port
	o, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Embed(context.Background(), []string{"a"})
	if !provider.IsRetryable(err) {
		t.Errorf("Embed on a refused port = %v; want a retryable provider error", err)
	}
}

func TestNewOpenAIRequires(t *testing.T) {
	if _, err := NewOpenAI(OpenAIOptions{Model: "m"}); err == nil {
		t.Error("NewOpenAI without BaseURL succeeded")
	}
}
