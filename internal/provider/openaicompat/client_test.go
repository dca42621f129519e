package openaicompat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// TestConnectionReused: answers that end cleanly leave the upstream
// connection reusable, plain or streamed, even when the server flushes the
// end of the body separately (chunked encoding).
func TestConnectionReused(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc := http.NewResponseController(w)
		if bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, `data: {"id":"1","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}`+"\n\n")
			_, _ = io.WriteString(w, `data: {"id":"1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
			_, _ = io.WriteString(w, "data: [DONE]\n\n")
			_ = rc.Flush()
			time.Sleep(10 * time.Millisecond) // the body's end comes apart
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
		_ = rc.Flush()
		time.Sleep(10 * time.Millisecond) // the body's end comes apart
		_, _ = io.WriteString(w, "\n")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := New(Options{Name: "m", BaseURL: srv.URL + "/v1", ModelID: "up", HTTP: &http.Client{Transport: tr}})
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "hello"}}}
	ctx := context.Background()
	for range 3 {
		resp, err := c.Chat(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Message.Content != "hi" {
			t.Fatalf("Chat = %q; want hi", resp.Message.Content)
		}
		s, err := c.ChatStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		var text string
		for {
			ch, err := s.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			text += ch.Content
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if text != "hi" {
			t.Fatalf("stream = %q; want hi", text)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("6 sequential calls opened %d connections; want 1", n)
	}
}
