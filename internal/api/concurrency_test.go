package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/requestid"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/router"
)

// twinModel answers each question q with "echo:" and q. A question that
// begins "raw-" is answered as an OpenAI-compatible upstream answers, with
// the document (Raw) that goes to the client rewritten; one that begins
// "big-" carries a padding member past what answerBufs keeps. A question
// that begins "shared-" is answered with sharedRaw itself, the same bytes
// every time, as a cache or a store holds an answer: nothing may write
// into them.
type twinModel struct {
	sharedRaw []byte
}

func padding(q string) string {
	if strings.Contains(q, "big-") {
		return strings.Repeat("p", maxPooledAnswer+1000)
	}
	return strings.Repeat("p", len(q))
}

func (m *twinModel) Chat(_ context.Context, chain []string, req *llm.Request) (provider.Answer, error) {
	q := req.LastUserText()
	resp := &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "echo:" + q}, FinishReason: llm.FinishStop}
	switch {
	case strings.HasPrefix(q, "shared-"):
		resp.Message.Content = "shared"
		resp.Raw = m.sharedRaw
	case strings.Contains(q, "raw-"):
		doc, _ := json.Marshal(map[string]any{
			"id": "up", "object": "chat.completion", "model": chain[0], "padding": padding(q),
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "echo:" + q}, "finish_reason": "stop"}},
		})
		resp.Raw = doc
	}
	return provider.Answer{Model: chain[0], Response: resp}, nil
}

func (m *twinModel) ChatStream(_ context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error) {
	q := req.LastUserText()
	text := "echo:" + q
	half := len(text) / 2
	if !strings.Contains(q, "raw-") {
		return provider.StreamAnswer{Model: chain[0], Stream: llm.NewSliceStream(
			llm.Chunk{Role: llm.RoleAssistant}, llm.Chunk{Content: text[:half]}, llm.Chunk{Content: text[half:]}, llm.Chunk{FinishReason: llm.FinishStop},
		)}, nil
	}
	chunk := func(content, finish string) llm.Chunk {
		c := map[string]any{"index": 0, "delta": map[string]any{"content": content}, "finish_reason": nil}
		if finish != "" {
			c["finish_reason"] = finish
		}
		doc, _ := json.Marshal(map[string]any{"id": "up", "object": "chat.completion.chunk", "model": chain[0], "choices": []any{c}})
		return llm.Chunk{Content: content, FinishReason: finish, Raw: doc}
	}
	return provider.StreamAnswer{Model: chain[0], Stream: llm.NewSliceStream(
		chunk(text[:half], ""), chunk(text[half:], ""), chunk("", llm.FinishStop),
	)}, nil
}

// tenantRoute routes every question to m, with a reason that names the
// tenant and the question, so that each answer's routing (header and
// cato member) is its own. It keeps each question's context.
type tenantRoute struct {
	ctxs *sync.Map // question -> context.Context
}

func (t tenantRoute) Decide(ctx context.Context, in router.Input) (router.Decision, error) {
	t.ctxs.Store(in.Query, ctx)
	return router.Decision{Primary: "m", Reason: "for " + in.Tenant + " " + in.Query, Rule: "simple"}, nil
}

type sentChat struct {
	key, tenant, id, question string
	stream                    bool
}

// checkAnswer checks that resp, to c, is c's own answer: its headers and
// body name c's request id, tenant and question, and no one else's.
func checkAnswer(c sentChat, resp *http.Response, body []byte) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d %s", resp.StatusCode, body)
	}
	h := resp.Header
	reason := "for " + c.tenant + " " + c.question
	for k, want := range map[string]string{
		"X-Request-Id": c.id, "X-Cato-Model": "m", "X-Cato-Cache": h.Get("X-Cato-Cache"),
		"X-Cato-Side": rollout.SideNew.String(),
	} {
		if got := h.Values(k); len(got) != 1 || got[0] != want {
			return fmt.Errorf("header %s = %q, want [%q]", k, got, want)
		}
	}
	if got := h.Get("X-Cato-Route"); !strings.HasSuffix(got, "; reason="+reason) {
		return fmt.Errorf("X-Cato-Route = %q, want its reason %q", got, reason)
	}
	type cato struct {
		Model   string `json:"model"`
		Routing struct {
			Reason string `json:"reason"`
		} `json:"routing"`
	}
	want := "echo:" + c.question
	if strings.HasPrefix(c.question, "shared-") {
		want = "shared"
	}
	if !c.stream {
		if got := h.Values("Content-Type"); len(got) != 1 || got[0] != "application/json" {
			return fmt.Errorf("Content-Type = %q", got)
		}
		if got := h.Get("Content-Length"); got != fmt.Sprint(len(body)) {
			return fmt.Errorf("Content-Length = %s for a body of %d bytes", got, len(body))
		}
		var doc struct {
			ID      string `json:"id"`
			Padding string `json:"padding"`
			Choices []struct {
				Message struct {
					Content string `json:"content"`
				} `json:"message"`
			} `json:"choices"`
			Cato *cato `json:"cato"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return fmt.Errorf("body %q: %v", body, err)
		}
		switch {
		case doc.ID != "chatcmpl-"+c.id:
			return fmt.Errorf("id %q, want chatcmpl-%s", doc.ID, c.id)
		case len(doc.Choices) != 1 || doc.Choices[0].Message.Content != want:
			return fmt.Errorf("choices %+v, want the content %q", doc.Choices, want)
		case doc.Cato == nil || doc.Cato.Model != "m" || doc.Cato.Routing.Reason != reason:
			return fmt.Errorf("cato %+v, want model m and reason %q", doc.Cato, reason)
		case strings.Contains(c.question, "raw-") && doc.Padding != padding(c.question):
			return fmt.Errorf("the upstream's padding member came back as %d bytes, want %d", len(doc.Padding), len(padding(c.question)))
		}
		return nil
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			return fmt.Errorf("header %s = %q, want [%q]", k, got, v)
		}
	}
	var text strings.Builder
	var last *cato
	done := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var ev struct {
			ID      string `json:"id"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Cato *cato `json:"cato"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("event %q: %v", data, err)
		}
		if ev.ID != "chatcmpl-"+c.id {
			return fmt.Errorf("event id %q, want chatcmpl-%s", ev.ID, c.id)
		}
		for _, ch := range ev.Choices {
			text.WriteString(ch.Delta.Content)
		}
		if ev.Cato != nil {
			last = ev.Cato
		}
	}
	switch {
	case !done:
		return fmt.Errorf("stream without [DONE]: %q", body)
	case text.String() != want:
		return fmt.Errorf("streamed %q, want %q", text.String(), want)
	case last == nil || last.Model != "m" || last.Routing.Reason != reason:
		return fmt.Errorf("last event's cato %+v, want model m and reason %q", last, reason)
	}
	return nil
}

// TestConcurrentAnswersAreTheirOwn sends many chat completions at once,
// streamed and not, rewritten upstream documents and Cato's own, small
// and past what answerBufs keeps, under two keys, and checks that each
// answer is its own: its request id, tenant, routing and text, in its
// headers and body. Buffers from answerBufs, header values kept in a
// request's response and shared between requests, and the key and id the
// request's context carries would show another request's bytes here (or
// a data race under -race) if any outlived its request or were written by
// two. It then checks that the upstream document served from shared
// bytes (as a cache holds it) was never written, that the shared header
// values are as they were, that a request's context still names its own
// id and tenant after the request, and that every slot and byte of the
// body budget was given back.
func TestConcurrentAnswersAreTheirOwn(t *testing.T) {
	t.Run("HTTP/1.1", func(t *testing.T) { concurrentAnswers(t, false) })
	t.Run("h2c", func(t *testing.T) { concurrentAnswers(t, true) })
}

func concurrentAnswers(t *testing.T, h2c bool) {
	shared := []byte(`{"id":"up","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"shared"},"finish_reason":"stop"}]}`)
	pristine := bytes.Clone(shared)
	var ctxs sync.Map
	auth := &Auth{}
	auth.AddKey("key-a", "team-a")
	auth.AddKey("key-b", "team-b")
	const budget = 1 << 20
	s := New(Options{
		Auth:         auth,
		Orchestrator: orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: &twinModel{sharedRaw: shared}, Router: tenantRoute{ctxs: &ctxs}}),
		Overload:     Overload{MaxInFlight: 64, BodyBudgetBytes: budget, BodyMinRate: 1 << 20, BodyGrace: 5 * time.Second},
	})
	srv := httptest.NewUnstartedServer(s)
	client := &http.Client{Transport: &http.Transport{}}
	if h2c {
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = p
		client.Transport.(*http.Transport).Protocols = p
	}
	srv.Start()
	defer srv.Close()
	defer client.CloseIdleConnections()

	const workers, each = 6, 24
	var mu sync.Mutex
	var sent []sentChat
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				c := sentChat{key: "key-a", tenant: "team-a", id: fmt.Sprintf("rq-%d-%d", w, i), stream: i%2 == 1}
				if (w+i)%3 == 0 {
					c.key, c.tenant = "key-b", "team-b"
				}
				switch i % 6 {
				case 0, 1:
					c.question = fmt.Sprintf("raw-%d-%d", w, i)
				case 2:
					c.question = fmt.Sprintf("big-raw-%d-%d", w, i)
				case 4:
					c.question = fmt.Sprintf("shared-%d-%d", w, i)
					c.stream = false
				default:
					c.question = fmt.Sprintf("own-%d-%d-%s", w, i, strings.Repeat("x", i*37))
				}
				body, _ := json.Marshal(map[string]any{"model": "auto", "stream": c.stream, "messages": []any{map[string]any{"role": "user", "content": c.question}}})
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+c.key)
				req.Header.Set("X-Request-Id", c.id)
				resp, err := client.Do(req)
				if err != nil {
					errs <- fmt.Errorf("%s: %v", c.id, err)
					return
				}
				if h2c && resp.ProtoMajor != 2 {
					errs <- fmt.Errorf("%s: answered over %s, want HTTP/2", c.id, resp.Proto)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					err = checkAnswer(c, resp, b)
				}
				if err != nil {
					errs <- fmt.Errorf("%s (%s, stream %v): %v", c.id, c.question, c.stream, err)
				}
				mu.Lock()
				sent = append(sent, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	if n > 5 {
		t.Errorf("... and %d more", n-5)
	}

	if !bytes.Equal(shared, pristine) {
		t.Errorf("the upstream document served from shared bytes was written: %q, was %q", shared, pristine)
	}
	for name, v := range map[string][]string{"eventStreamHeader": eventStreamHeader, "noCacheHeader": noCacheHeader, "noHeader": noHeader, "newSide": newSide} {
		want := map[string]string{"eventStreamHeader": "text/event-stream", "noCacheHeader": "no-cache", "noHeader": "no", "newSide": "new"}[name]
		if len(v) != 1 || v[0] != want {
			t.Errorf("the shared header value %s = %q, want [%q]", name, v, want)
		}
	}
	if len(sent) != workers*each {
		t.Fatalf("%d requests sent, want %d", len(sent), workers*each)
	}
	for _, c := range sent {
		v, ok := ctxs.Load(c.question)
		if !ok {
			t.Errorf("%s: the router never saw %q", c.id, c.question)
			continue
		}
		ctx := v.(context.Context)
		if got, tenant := requestid.From(ctx), tenantOf(ctx); got != c.id || tenant != c.tenant {
			t.Errorf("after the request, its context names request %q of tenant %q, want %q of %q", got, tenant, c.id, c.tenant)
		}
	}
	waitGivenBack(t, s, budget)
}

// waitGivenBack waits for s's requests to end (a client may read its
// answer before the handler returns) and checks that they gave back every
// Overload.MaxInFlight slot and all of the body budget, which is budget
// bytes.
func waitGivenBack(t *testing.T, s *Server, budget int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.inFlight.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in flight", s.inFlight.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if n := s.clientInFlight.Load(); n != 0 {
		t.Errorf("%d max_in_flight slots held after every request ended, want 0", n)
	}
	if s.bodies != nil {
		if !s.bodies.TryAcquire(budget) {
			t.Error("the body budget is not whole after every request ended")
		} else {
			s.bodies.Release(budget)
		}
	}
}

// pathModel fails, panics, breaks its stream off or waits for the client
// to go, as the question asks.
type pathModel struct {
	started chan struct{}
}

var errPathModel = &provider.Error{Model: "m", StatusCode: http.StatusBadGateway, Code: provider.CodeUpstreamError, Err: errors.New("down")}

func (m *pathModel) Chat(ctx context.Context, chain []string, req *llm.Request) (provider.Answer, error) {
	switch q := req.LastUserText(); q {
	case "fail":
		return provider.Answer{}, errPathModel
	case "panic":
		panic("the model panicked")
	case "wait":
		m.started <- struct{}{}
		<-ctx.Done()
		return provider.Answer{}, ctx.Err()
	}
	return provider.Answer{Model: chain[0], Response: &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, FinishReason: llm.FinishStop}}, nil
}

func (m *pathModel) ChatStream(ctx context.Context, chain []string, req *llm.Request) (provider.StreamAnswer, error) {
	switch req.LastUserText() {
	case "fail":
		return provider.StreamAnswer{}, errPathModel
	case "break":
		return provider.StreamAnswer{Model: chain[0], Stream: &brokenStream{}}, nil
	case "wait":
		return provider.StreamAnswer{Model: chain[0], Stream: &waitStream{ctx: ctx, started: m.started}}, nil
	}
	return provider.StreamAnswer{Model: chain[0], Stream: llm.NewSliceStream(llm.Chunk{Content: "ok"}, llm.Chunk{FinishReason: llm.FinishStop})}, nil
}

// brokenStream sends one chunk, then fails.
type brokenStream struct{ sent bool }

func (b *brokenStream) Next() (llm.Chunk, error) {
	if !b.sent {
		b.sent = true
		return llm.Chunk{Content: "par"}, nil
	}
	return llm.Chunk{}, errPathModel
}

func (*brokenStream) Usage() llm.Usage { return llm.Usage{} }
func (*brokenStream) Close() error     { return nil }

// waitStream sends one chunk, then waits for the client to go.
type waitStream struct {
	ctx     context.Context
	started chan struct{}
	sent    bool
}

func (w *waitStream) Next() (llm.Chunk, error) {
	if !w.sent {
		w.sent = true
		return llm.Chunk{Content: "par"}, nil
	}
	w.started <- struct{}{}
	<-w.ctx.Done()
	return llm.Chunk{}, w.ctx.Err()
}

func (*waitStream) Usage() llm.Usage { return llm.Usage{} }
func (*waitStream) Close() error     { return nil }

// TestSlotsAndBudgetGivenBackOnEveryPath takes each way a request can end
// (answered, streamed, refused before its body, unreadable, too large,
// a model's error before and after a stream began, a panic, a client
// gone) and checks after each that the request gave back its
// Overload.MaxInFlight slot and its share of the body budget, once: none
// held, none given back twice (which the next request would find as a
// slot too many).
func TestSlotsAndBudgetGivenBackOnEveryPath(t *testing.T) {
	m := &pathModel{started: make(chan struct{}, 1)}
	auth := &Auth{}
	auth.AddKey("key", "team")
	const budget = 64 << 10
	s := New(Options{
		Auth:         auth,
		Orchestrator: orchestrator.New(orchestrator.Options{Models: []string{"m"}, Caller: m, Router: oneRoute{}}),
		MaxBodyBytes: 4096,
		Overload:     Overload{MaxInFlight: 1, BodyBudgetBytes: budget},
	})
	srv := httptest.NewServer(s)
	defer srv.Close()
	chat := func(q string, stream bool) string {
		b, _ := json.Marshal(map[string]any{"model": "auto", "stream": stream, "messages": []any{map[string]any{"role": "user", "content": q}}})
		return string(b)
	}
	tests := []struct {
		name, key, body string
		want            int
		gone            bool
	}{
		{"answered", "key", chat("hi", false), 200, false},
		{"streamed", "key", chat("hi", true), 200, false},
		{"no key", "", chat("hi", false), 401, false},
		{"not JSON", "key", `{"model":`, 400, false},
		{"too large", "key", chat(strings.Repeat("x", 5000), false), 413, false},
		{"model error", "key", chat("fail", false), 502, false},
		{"model error before the stream", "key", chat("fail", true), 502, false},
		{"stream broken off", "key", chat("break", true), 200, false},
		{"panic", "key", chat("panic", false), 500, false},
		{"client gone", "key", chat("wait", false), 0, true},
		{"client gone from a stream", "key", chat("wait", true), 200, true},
		{"models list", "key", "", 200, false},
	}
	for _, tt := range tests {
		for round := range 2 { // a slot given back twice would let two through
			method, path := http.MethodPost, "/v1/chat/completions"
			if tt.body == "" {
				method, path = http.MethodGet, "/v1/models"
			}
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(tt.body))
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			if tt.gone && tt.want != 200 {
				go func() {
					select {
					case <-m.started:
					case <-time.After(5 * time.Second):
					}
					cancel()
				}()
			}
			resp, err := http.DefaultClient.Do(req)
			switch {
			case tt.gone && tt.want == 200:
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				// The stream began; the client goes once the model waits.
				first, _ := bufio.NewReader(resp.Body).ReadString('\n')
				if !strings.Contains(first, `"par"`) {
					t.Errorf("%s: the stream began with %q, want the first chunk", tt.name, first)
				}
				select {
				case <-m.started:
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: the model never waited", tt.name)
				}
				cancel()
				resp.Body.Close()
			case tt.gone:
				if err == nil {
					resp.Body.Close()
					t.Errorf("%s: answered %d, want the client gone", tt.name, resp.StatusCode)
				}
			case err != nil:
				t.Fatalf("%s: %v", tt.name, err)
			default:
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("%s (round %d): %d %s, want %d", tt.name, round, resp.StatusCode, b, tt.want)
				}
			}
			cancel()
			waitGivenBack(t, s, budget)
			if t.Failed() {
				t.Fatalf("after %q (round %d)", tt.name, round)
			}
		}
	}
}
