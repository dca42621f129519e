package titan

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/cato-gateway/cato/internal/provider"
)

// titanServer speaks Bedrock InvokeModel for Titan Text Embeddings v2.
func titanServer(t *testing.T, calls *atomic.Int32, fail string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/model/"+DefaultModel+"/invoke" {
			t.Errorf("request %s %s; want POST /model/%s/invoke", r.Method, r.URL.Path, DefaultModel)
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/us-west-2/bedrock/aws4_request") {
			t.Errorf("Authorization = %q; want a SigV4 signature for bedrock in us-west-2", auth)
		}
		if r.Header.Get("X-Amz-Date") == "" {
			t.Error("X-Amz-Date missing")
		}
		var req invokeRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Dimensions != 256 || !req.Normalize {
			t.Errorf("body %+v (%v); want dimensions 256, normalize true", req, err)
		}
		if req.InputText == fail {
			w.Header().Set("X-Amzn-Errortype", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"message":"Too many requests, please wait before trying again."}`))
			return
		}
		v := make([]float32, 256)
		v[len(req.InputText)%256] = 2
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"embedding": v, "inputTextTokenCount": 3})
	}))
}

func newTitanTest(t *testing.T, url string) *Client {
	t.Helper()
	tt, err := New(context.Background(), Options{
		Region: "us-west-2", Endpoint: url, Dimensions: 256,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func TestEmbed(t *testing.T) {
	var calls atomic.Int32
	srv := titanServer(t, &calls, "")
	defer srv.Close()
	e := newTitanTest(t, srv.URL)
	texts := []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii", "jjjj"}
	got, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if int(calls.Load()) != len(texts) {
		t.Errorf("%d InvokeModel calls; want %d (one per text)", calls.Load(), len(texts))
	}
	for i, v := range got {
		if len(v) != 256 || v[len(texts[i])] != 1 {
			t.Errorf("vector %d is not the normalised one the server sent for %q", i, texts[i])
		}
	}
	if e.Dim() != 256 {
		t.Errorf("Dim() = %d; want 256", e.Dim())
	}
}

func TestEmbedThrottled(t *testing.T) {
	var calls atomic.Int32
	srv := titanServer(t, &calls, "slow")
	defer srv.Close()
	_, err := newTitanTest(t, srv.URL).Embed(context.Background(), []string{"slow"})
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.StatusCode != 429 || !pe.Retryable || pe.Code != "ThrottlingException" {
		t.Fatalf("Embed error = %#v; want a retryable 429 ThrottlingException provider error", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls; want 1 (the SDK must not retry behind the caller's back)", calls.Load())
	}
}

func TestNewDimensions(t *testing.T) {
	if _, err := New(context.Background(), Options{Dimensions: 300}); err == nil {
		t.Error("New accepted 300 dimensions")
	}
}
