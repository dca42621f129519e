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
	"github.com/cato-gateway/cato/internal/provider"
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

// TestAnswersKeptAsSent: answers and chunks keep the upstream's document
// (Raw) for the client, except where Cato asked for hidden states; error
// documents are kept as sent with the upstream's status and code.
func TestAnswersKeptAsSent(t *testing.T) {
	const answer = `{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":"stop","hidden_states":[1,2]}],"system_fingerprint":"fp"}`
	const chunk = `{"id":"x","choices":[{"index":1,"delta":{"content":"b"},"finish_reason":null}]}`
	const errDoc = `{"error":{"message":"bad param","type":"invalid_request_error","param":"top_p","code":"invalid_value"}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case bytes.Contains(body, []byte(`"top_p"`)):
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, errDoc)
		case bytes.Contains(body, []byte(`"stream":true`)):
			_, _ = io.WriteString(w, "data: "+chunk+"\n\ndata: [DONE]\n\n")
		default:
			_, _ = io.WriteString(w, answer)
		}
	}))
	defer srv.Close()
	c := New(Options{Name: "m", BaseURL: srv.URL, ModelID: "up"})
	ctx := context.Background()
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

	resp, err := c.Chat(ctx, req)
	if err != nil || string(resp.Raw) != answer {
		t.Errorf("Chat = %+v, %v; want the answer kept as sent", resp, err)
	}
	hidden := *req
	hidden.HiddenStates = true
	if resp, err := c.Chat(ctx, &hidden); err != nil || resp.Raw != nil || resp.HiddenStates == nil {
		t.Errorf("Chat with hidden states = %+v, %v; want them read and no Raw", resp, err)
	}
	s, err := c.ChatStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := s.Next()
	if err != nil || string(ch.Raw) != chunk || ch.Index != 1 || ch.Content != "b" {
		t.Errorf("chunk = %+v, %v; want choice 1's chunk kept as sent", ch, err)
	}
	_ = s.Close()

	temp := 0.5
	bad := *req
	bad.TopP = &temp
	_, err = c.Chat(ctx, &bad)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.StatusCode != 400 || string(pe.Upstream) != errDoc || pe.Code != "invalid_value" {
		t.Errorf("error = %#v; want the upstream's 400 with its document and code", err)
	}
}
