package loadtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCato is an OpenAI-compatible server with Cato's extras, for tests. It
// answers /v1/chat/completions (JSON or SSE) and /api/cato/query. Request i
// (from 1) gets model bedrock_haiku or bedrock_sonnet (i odd or even), side
// legacy when i%3 == 0 else new, and cache outcome hit, miss, bypass or
// nothing in the headers (then cato.cached true in a JSON body) for i%4 = 0,
// 1, 2, 3. Every failEvery-th request gets a 503.
type fakeCato struct {
	t         testing.TB
	failEvery int64
	delay     time.Duration // before answering
	chunks    int           // content chunks per stream; zero means 4

	requests atomic.Int64
	http2    atomic.Int64
	failed   atomic.Int64

	mu        sync.Mutex       // guards the fields below
	busy      map[string]bool  // sessions with a turn in flight
	turns     map[string]int   // turns seen per session
	problems  []string         // protocol violations seen
	keys      map[string]int   // requests per Authorization header
	msgCounts map[string][]int // chat messages in each turn, per session
}

func newFakeCato(t testing.TB) *fakeCato {
	return &fakeCato{t: t, busy: map[string]bool{}, turns: map[string]int{}, keys: map[string]int{}, msgCounts: map[string][]int{}}
}

// start serves f over HTTP/1.1, and h2c too when h2c is set.
func (f *fakeCato) start(h2c bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(f)
	if h2c {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = p
		srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1000}
	}
	srv.Start()
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeCato) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeCato) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := f.requests.Add(1)
	if r.ProtoMajor == 2 {
		f.http2.Add(1)
	}
	var body map[string]any
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil {
		f.problem("request %d: %s %s without a JSON body", i, r.Method, r.URL.Path)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	session, _ := body["session_id"].(string)
	f.mu.Lock()
	f.keys[r.Header.Get("Authorization")]++
	if session != "" {
		if f.busy[session] {
			f.problems = append(f.problems, "two turns of session "+session+" in flight at once")
		}
		if h := r.Header.Get("X-Cato-Session"); h != session {
			f.problems = append(f.problems, fmt.Sprintf("X-Cato-Session %q; body session_id %q", h, session))
		}
		f.busy[session] = true
		f.turns[session]++
		msgs, _ := body["messages"].([]any)
		f.msgCounts[session] = append(f.msgCounts[session], len(msgs))
	}
	f.mu.Unlock()
	defer func() {
		if session != "" {
			f.mu.Lock()
			delete(f.busy, session)
			f.mu.Unlock()
		}
	}()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}

	if f.failEvery > 0 && i%f.failEvery == 0 {
		f.failed.Add(1)
		w.Header().Set("X-Cato-Model", "bedrock_haiku")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"message":"no model available","type":"server_error","code":"unavailable"}}`))
		return
	}
	model := "bedrock_haiku"
	if i%2 == 0 {
		model = "bedrock_sonnet"
	}
	side := "new"
	if i%3 == 0 {
		side = "legacy"
	}
	h := w.Header()
	h.Set("X-Cato-Model", model)
	h.Set("X-Cato-Side", side)
	switch i % 4 {
	case 0:
		h.Set("X-Cato-Cache", "hit")
	case 1:
		h.Set("X-Cato-Cache", "miss")
	case 2:
		h.Set("X-Cato-Cache", "bypass")
	}
	answer := fmt.Sprintf("answer %d", i)

	if r.URL.Path == queryPath {
		h.Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"response": answer, "model": model, "cached": true, "session_id": session})
		return
	}
	if stream, _ := body["stream"].(bool); stream {
		h.Set("Content-Type", "text/event-stream")
		h.Del("X-Cato-Cache") // a stream says nothing of the cache here: counted as not reported
		fl, _ := w.(http.Flusher)
		n := f.chunks
		if n == 0 {
			n = 4
		}
		for k := range n {
			fmt.Fprintf(w, "data: {\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}\n\n", model, fmt.Sprint(answer, " part ", k))
			if fl != nil {
				fl.Flush()
			}
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	h.Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": fmt.Sprint("chatcmpl-", i), "object": "chat.completion", "model": model,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": answer}, "finish_reason": "stop"}},
		"cato":    map[string]any{"model": model, "cached": true},
	})
}
