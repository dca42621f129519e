package rollout

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const completionJSON = `{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"The answer is 4."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}`

// received is what the legacy test upstream saw.
type received struct {
	Path, Auth, XFF string
	Body            map[string]any
}

// legacyUpstream is an OpenAI-compatible server: it answers JSON, or SSE
// when the body asks for a stream, and records what it received.
func legacyUpstream(t *testing.T) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
			return
		}
		got <- received{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), XFF: r.Header.Get("X-Forwarded-For"), Body: body}
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, tok := range []string{"The ", "answer ", "is 4."} {
				fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", tok)
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// front is Cato's handler for the legacy side, as api calls it: an answer
// that broke off is aborted at this, the outermost, handler.
func front(t *testing.T, leg *Legacy) (*httptest.Server, chan Answer) {
	t.Helper()
	answers := make(chan Answer, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ans := leg.Proxy(w, r, ExtractIdentity("team-a", r.Header, body), body)
		answers <- ans
		if errors.Is(ans.Err, ErrAborted) {
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, answers
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer cato-client-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	return resp, string(b)
}

func TestLegacyProxy(t *testing.T) {
	up, got := legacyUpstream(t)
	exchanges := make(chan Exchange, 10)
	leg, err := NewLegacy(LegacyOptions{
		BaseURL: up.URL + "/v1", APIKey: "legacy-key", ModelID: "gpt-4o-mini",
		OnExchange: func(ctx context.Context, ex Exchange) { exchanges <- ex },
	})
	if err != nil {
		t.Fatal(err)
	}
	fr, answers := front(t, leg)

	tests := []struct {
		name      string
		body      string
		wantModel string
		wantBody  string // "" means an SSE stream
	}{
		{"json, model rewritten", `{"model":"auto","user":"u-1","session_id":"s-1","messages":[{"role":"user","content":"2+2?"}]}`, "gpt-4o-mini", completionJSON},
		{"stream, model kept", `{"model":"gpt-4o","stream":true,"user":"u-1","messages":[{"role":"user","content":"2+2?"}]}`, "gpt-4o", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, fr.URL, tt.body)
			if resp.StatusCode != 200 || resp.Header.Get(HeaderSide) != "legacy" {
				t.Errorf("status %d, X-Cato-Side %q; want 200, legacy", resp.StatusCode, resp.Header.Get(HeaderSide))
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("client got %q; want the upstream's answer unchanged %q", body, tt.wantBody)
			}
			if tt.wantBody == "" && (!strings.HasSuffix(body, "data: [DONE]\n\n") || resp.Header.Get("Content-Type") != "text/event-stream") {
				t.Errorf("client got %q (%s); want the SSE stream", body, resp.Header.Get("Content-Type"))
			}
			r := <-got
			if r.Path != "/v1/chat/completions" || r.Auth != "Bearer legacy-key" || r.XFF != "127.0.0.1" || r.Body["model"] != tt.wantModel {
				t.Errorf("upstream saw %+v; want /v1/chat/completions, the legacy key, X-Forwarded-For and model %s", r, tt.wantModel)
			}
			ans := <-answers
			if ans.Status != 200 || ans.Err != nil || ans.Text != "The answer is 4." {
				t.Errorf("Answer = %+v; want 200 with the text", ans)
			}
			ex := <-exchanges
			want := Exchange{Tenant: "team-a", User: "u-1", Session: ex.Session, ResponseText: "The answer is 4.", Status: 200}
			ex.Request, ex.Latency = nil, 0
			if diff := cmp.Diff(want, ex); diff != "" {
				t.Errorf("OnExchange (-want +got):\n%s", diff)
			}
		})
	}
	if err := leg.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// The first chunk of a stream reaches the client before the upstream has
// written the second one.
func TestLegacyStreamsAtOnce(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer up.Close()
	defer close(release)
	leg, _ := NewLegacy(LegacyOptions{BaseURL: up.URL + "/v1"})
	fr, _ := front(t, leg)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fr.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, "first") {
		t.Fatalf("first line = %q, %v; want the first chunk before the upstream finishes", line, err)
	}
}

func TestLegacyClientCancelReachesUpstream(t *testing.T) {
	upstreamGone := make(chan error, 1)
	started := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // as a real server does; the server notices a gone client only then
		close(started)
		<-r.Context().Done()
		upstreamGone <- r.Context().Err()
	}))
	defer up.Close()
	leg, _ := NewLegacy(LegacyOptions{BaseURL: up.URL + "/v1"})
	fr, answers := front(t, leg)

	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fr.URL+"/v1/chat/completions", strings.NewReader(`{}`))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request succeeded; want it cancelled")
	}
	select {
	case err := <-upstreamGone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("upstream ctx err = %v; want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request not cancelled 5s after the client went away")
	}
	ans := <-answers
	if ans.Status != 499 || !errors.Is(ans.Err, context.Canceled) || (Outcome{Status: ans.Status, Err: ans.Err}).Failed() {
		t.Errorf("Answer = %+v; want 499, Canceled, not a failure of the side", ans)
	}
}

func TestLegacyUpstreamDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // a refused port
	leg, _ := NewLegacy(LegacyOptions{BaseURL: "http://" + dead + "/v1"})
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/chat/completions", nil)
	ans := leg.Proxy(rec, req, Identity{}, []byte(`{"model":"auto"}`))
	if ans.Status != 502 || !errors.Is(ans.Err, ErrLegacyUnavailable) || !(Outcome{Status: ans.Status, Err: ans.Err}).Failed() {
		t.Errorf("Answer = %+v; want a failed 502 wrapping ErrLegacyUnavailable", ans)
	}
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Errorf("Proxy wrote %q (%v); want nothing, for the caller to answer", rec.Body.String(), rec.Header())
	}
	if ans := leg.Call(t.Context(), "/v1/chat/completions", []byte(`{}`)); !errors.Is(ans.Err, ErrLegacyUnavailable) {
		t.Errorf("Call = %+v; want ErrLegacyUnavailable", ans)
	}
}

func TestLegacyStreamBrokenOff(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"}}]}\n\n")
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer up.Close()
	called := false
	leg, _ := NewLegacy(LegacyOptions{BaseURL: up.URL + "/v1", OnExchange: func(context.Context, Exchange) { called = true }})
	fr, answers := front(t, leg)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, fr.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("client read the broken stream to a clean end; want an error")
	}
	var ans Answer
	select {
	case ans = <-answers:
	case <-time.After(15 * time.Second):
		t.Fatal("Proxy did not return from a broken stream within 15s")
	}
	if !errors.Is(ans.Err, ErrAborted) || ans.Text != "half" || !(Outcome{Status: ans.Status, Err: ans.Err}).Failed() {
		t.Errorf("Answer = %+v; want a failed ErrAborted with the partial text", ans)
	}
	leg.Close()
	if called {
		t.Error("OnExchange called for a broken exchange")
	}
}

// A client that goes away in the middle of a stream ends the proxying: the
// answer is aborted but, the client having left, not the side's failure.
func TestLegacyClientGoneMidStream(t *testing.T) {
	upstreamGone := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(upstreamGone)
	}))
	defer up.Close()
	leg, _ := NewLegacy(LegacyOptions{BaseURL: up.URL + "/v1"})
	fr, answers := front(t, leg)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fr.URL+"/v1/chat/completions", strings.NewReader(`{"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.Contains(line, "half") {
		t.Fatalf("first line = %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	select {
	case <-upstreamGone:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request not cancelled 5s after the client went away")
	}
	select {
	case ans := <-answers:
		if !errors.Is(ans.Err, ErrAborted) || !errors.Is(ans.Err, context.Canceled) || (Outcome{Status: ans.Status, Err: ans.Err}).Failed() {
			t.Errorf("Answer = %+v; want ErrAborted by a cancelled client, not a failure of the side", ans)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Proxy did not return within 15s after the client went away")
	}
}

func TestLegacyCall(t *testing.T) {
	up, got := legacyUpstream(t)
	leg, _ := NewLegacy(LegacyOptions{BaseURL: up.URL + "/v1/", APIKey: "k", ModelID: "gpt-4o-mini"})
	for _, body := range []string{`{"model":"cato"}`, `{"model":"cato","stream":true}`} {
		ans := leg.Call(t.Context(), "/v1/chat/completions", []byte(body))
		if ans.Err != nil || ans.Status != 200 || ans.Text != "The answer is 4." {
			t.Errorf("Call(%s) = %+v; want 200 with the text", body, ans)
		}
		if r := <-got; r.Path != "/v1/chat/completions" || r.Auth != "Bearer k" || r.Body["model"] != "gpt-4o-mini" {
			t.Errorf("upstream saw %+v", r)
		}
	}
}

func TestNewLegacyRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "litellm:4000", "ftp://x/v1"} {
		if _, err := NewLegacy(LegacyOptions{BaseURL: u}); err == nil {
			t.Errorf("NewLegacy(%q) succeeded; want an error", u)
		}
	}
}

// Shadow traffic never changes the primary response nor holds it up: with
// every shadow stuck, clients still get the upstream's answer byte for
// byte at once, the shadows beyond the bound are dropped and counted, and
// Close ends the stuck ones.
func TestShadowLeavesPrimaryAlone(t *testing.T) {
	up, _ := legacyUpstream(t)
	leg, _ := NewLegacy(LegacyOptions{BaseURL: up.URL + "/v1"})
	sh := NewShadow(ShadowOptions{Percentage: 100, MaxConcurrent: 2})
	var mu sync.Mutex
	shadowCalls := 0
	handled := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ans := leg.Proxy(w, r, Identity{Tenant: "t"}, body)
		if sh.Sample() {
			sh.Mirror(SideLegacy, ans, func(ctx context.Context) Answer {
				mu.Lock()
				shadowCalls++
				mu.Unlock()
				<-ctx.Done() // the new side hangs
				return Answer{Err: ctx.Err()}
			})
		}
		handled <- struct{}{}
	}))
	defer srv.Close()

	const n = 10
	for i := range n {
		start := time.Now()
		resp, body := post(t, srv.URL, `{"model":"auto"}`)
		if resp.StatusCode != 200 || body != completionJSON {
			t.Fatalf("request %d: %d %q; want the upstream's answer unchanged", i, resp.StatusCode, body)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("request %d took %v with shadows stuck; want it unaffected", i, d)
		}
	}
	for range n {
		<-handled
	}
	st := sh.Stats()
	if st.Sent != 2 || st.Dropped != n-2 {
		t.Errorf("shadow sent %d dropped %d; want 2 and %d (bound 2)", st.Sent, st.Dropped, n-2)
	}
	if err := sh.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if shadowCalls != 2 {
		t.Errorf("shadow calls made = %d; want 2", shadowCalls)
	}
	if sh.Mirror(SideLegacy, Answer{}, func(context.Context) Answer { t.Error("shadow ran after Close"); return Answer{} }) {
		t.Error("Mirror after Close reported true")
	}
}

// TestLegacyDualWriteBounded: with OnExchange stuck (a hung store), at
// most MaxExchanges calls are in flight; further exchanges are dropped
// and counted, and clients still get their answers.
func TestLegacyDualWriteBounded(t *testing.T) {
	up, got := legacyUpstream(t)
	release := make(chan struct{})
	var inFlight, most atomic.Int32
	leg, err := NewLegacy(LegacyOptions{
		BaseURL: up.URL + "/v1", MaxExchanges: 2,
		OnExchange: func(ctx context.Context, ex Exchange) {
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			<-release
			inFlight.Add(-1)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	fr, answers := front(t, leg)
	const requests = 7
	for range requests {
		resp, _ := post(t, fr.URL, `{"model":"auto","session_id":"s-1","messages":[{"role":"user","content":"2+2?"}]}`)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d; want 200 whatever dual-write does", resp.StatusCode)
		}
		<-got
		<-answers
	}
	if d := leg.ExchangesDropped(); d != requests-2 {
		t.Errorf("ExchangesDropped = %d; want %d", d, requests-2)
	}
	close(release)
	if err := leg.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if m := most.Load(); m != 2 {
		t.Errorf("most OnExchange calls in flight = %d; want 2", m)
	}
}
