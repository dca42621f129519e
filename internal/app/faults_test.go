package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/testenv"
)

// An upstreamFault is how a faulty OpenAI-compatible upstream answers its
// call-th call (from 1) of one model; stream says whether the call asked
// for a stream.
type upstreamFault func(w http.ResponseWriter, r *http.Request, call int, stream bool)

// faultAnswer answers a call correctly: a JSON completion, or an event
// stream of two chunks and [DONE].
func faultAnswer(w http.ResponseWriter, stream bool) {
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"primary answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, sseChunk("primary "))
	io.WriteString(w, sseChunk("answer"))
	io.WriteString(w, `data: {"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
	io.WriteString(w, "data: [DONE]\n\n")
}

// firstChunk sends the start of an event stream, or of a JSON body, and
// flushes it, so that the client has its first byte.
func firstChunk(w http.ResponseWriter, stream bool) {
	if stream {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, sseChunk("partial"))
	} else {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"part`)
	}
	w.(http.Flusher).Flush()
}

// reset answers with a TCP reset (RST, not a clean close): before the
// first byte, or after the status line, headers and the first chunk of a
// stream or of a JSON body.
func reset(w http.ResponseWriter, afterFirstByte, stream bool) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if afterFirstByte {
		if stream {
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + sseChunk("partial"))
		} else {
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + `{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"part`)
		}
		buf.Flush()
		time.Sleep(20 * time.Millisecond) // the bytes leave before the reset
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// stall waits until the caller gives up.
func stall(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// faultWant is what a client receives for one fault in one variant.
type faultWant struct {
	// status is the response's status.
	status int
	// code is the error code of the JSON error body, or of the SSE error
	// event that ends a stream that had started; "" means none.
	code string
	// model is X-Cato-Model, for an answer.
	model string
	// done says whether a stream ends with data: [DONE].
	done bool
	// retryAfter is the Retry-After header expected, "" for none.
	retryAfter string
	// kept says whether the session keeps the turn and the cache the
	// answer: only a complete answer is kept, never an error.
	kept bool
}

// Variants of a fault: with a healthy fallback configured or not, and as a
// JSON answer or a stream.
const (
	fbChat = iota
	fbStream
	soloChat
	soloStream
)

var variantNames = [...]string{"fallback/chat", "fallback/stream", "no fallback/chat", "no fallback/stream"}

// ok is the answer of a model, fallback (the simulated healthy model) or
// primary.
func okFrom(model string, stream bool) faultWant {
	return faultWant{status: 200, model: model, done: stream, kept: true}
}

// TestUpstreamFaultMatrix runs each upstream fault through the HTTP API
// in four variants (healthy fallback configured or not; JSON or stream)
// and checks the status, the error code of the body or of the stream's
// error event, and what was kept: the session's turn and the cache entry
// exist for a complete answer only. docs/reliability.md holds the same
// table. Timeouts are short (1s an attempt, two attempts, 1s of stream
// silence) so the whole matrix takes seconds, and long enough for a
// loaded machine running -race.
func TestUpstreamFaultMatrix(t *testing.T) {
	const fb, primary = "healthy", "bedrock_sonnet"
	errBody := `{"error":{"message":"upstream broke","type":"server_error","param":null,"code":"upstream_broke"}}`
	rateBody := `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`
	rows := []struct {
		name  string
		fault upstreamFault
		// refused points the model at a port nobody listens on instead.
		refused bool
		want    [4]faultWant
	}{
		{
			name: "5xx",
			fault: func(w http.ResponseWriter, r *http.Request, _ int, _ bool) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				io.WriteString(w, errBody)
			},
			want: [4]faultWant{okFrom(fb, false), okFrom(fb, true),
				{status: 500, code: "upstream_broke"}, {status: 500, code: "upstream_broke"}},
		},
		{
			name: "429 with a short Retry-After, then an answer",
			fault: func(w http.ResponseWriter, r *http.Request, call int, stream bool) {
				if call == 1 {
					w.Header().Set("Retry-After", "1")
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTooManyRequests)
					io.WriteString(w, rateBody)
					return
				}
				faultAnswer(w, stream)
			},
			want: [4]faultWant{okFrom(primary, false), okFrom(primary, true), okFrom(primary, false), okFrom(primary, true)},
		},
		{
			name: "429 with a long Retry-After",
			fault: func(w http.ResponseWriter, r *http.Request, _ int, _ bool) {
				w.Header().Set("Retry-After", "100")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, rateBody)
			},
			want: [4]faultWant{okFrom(fb, false), okFrom(fb, true),
				{status: 429, code: "rate_limit_exceeded", retryAfter: "100"}, {status: 429, code: "rate_limit_exceeded", retryAfter: "100"}},
		},
		{
			name:  "timeout: accepts, never answers (a stream: stalls before its first chunk)",
			fault: func(w http.ResponseWriter, r *http.Request, _ int, _ bool) { stall(r) },
			want: [4]faultWant{okFrom(fb, false), okFrom(fb, true),
				{status: 504, code: "timeout"}, {status: 504, code: "timeout"}},
		},
		{
			name:    "connection refused",
			refused: true,
			want: [4]faultWant{okFrom(fb, false), okFrom(fb, true),
				{status: 502, code: "upstream_unreachable"}, {status: 502, code: "upstream_unreachable"}},
		},
		{
			name:  "reset before the first byte",
			fault: func(w http.ResponseWriter, _ *http.Request, _ int, stream bool) { reset(w, false, stream) },
			want: [4]faultWant{okFrom(fb, false), okFrom(fb, true),
				{status: 502, code: "connection_reset"}, {status: 502, code: "connection_reset"}},
		},
		{
			name:  "reset after the first byte",
			fault: func(w http.ResponseWriter, _ *http.Request, _ int, stream bool) { reset(w, true, stream) },
			// A JSON answer is read whole before the client sees a byte,
			// so it falls back; a stream's first chunk has reached the
			// client, so it ends with an error event.
			want: [4]faultWant{okFrom(fb, false), {status: 200, code: "connection_reset"},
				{status: 502, code: "connection_reset"}, {status: 200, code: "connection_reset"}},
		},
		{
			name: "connection closed after the first byte",
			fault: func(w http.ResponseWriter, _ *http.Request, _ int, stream bool) {
				firstChunk(w, stream)
				panic(http.ErrAbortHandler)
			},
			want: [4]faultWant{okFrom(fb, false), {status: 200, code: "connection_error"},
				{status: 502, code: "connection_error"}, {status: 200, code: "connection_error"}},
		},
		{
			name: "truncated JSON body, truncated event-stream frame",
			fault: func(w http.ResponseWriter, r *http.Request, _ int, stream bool) {
				firstChunk(w, stream)
				if stream {
					io.WriteString(w, `data: {"id":"s","object":"chat.compl`)
				}
			},
			want: [4]faultWant{okFrom(fb, false), {status: 200, code: "bad_upstream_response"},
				{status: 502, code: "bad_upstream_response"}, {status: 200, code: "bad_upstream_response"}},
		},
		{
			name: "stall during a stream (after the first chunk)",
			fault: func(w http.ResponseWriter, r *http.Request, _ int, stream bool) {
				firstChunk(w, stream)
				stall(r)
			},
			// A JSON answer that stalls mid-body is a timeout; a stream
			// that stalls after its first chunk ends after
			// stream_idle_timeout with an error event.
			want: [4]faultWant{okFrom(fb, false), {status: 200, code: "stream_idle_timeout"},
				{status: 504, code: "timeout"}, {status: 200, code: "stream_idle_timeout"}},
		},
	}

	// One upstream serves every row: the model id names the row and the
	// variant, and each has its own count of calls.
	var mu sync.Mutex
	calls := map[string]int{}
	faults := map[string]upstreamFault{}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		calls[body.Model]++
		n, f := calls[body.Model], faults[body.Model]
		mu.Unlock()
		f(w, r, n, body.Stream)
	}))
	defer up.Close()
	refused := "http://127.0.0.1:" + testenv.SparePort(t) + "/v1"

	model := func(row, v int) string { return fmt.Sprintf("f%d_%d", row, v) }
	var cfg strings.Builder
	cfg.WriteString(`
listen: 127.0.0.1:0
models:
  healthy: {provider: simulated}
`)
	var fallbacks []string
	for i, row := range rows {
		for v := range 4 {
			m := model(i, v)
			faults[m] = row.fault
			url := up.URL + "/v1"
			if row.refused {
				url = refused
			}
			fmt.Fprintf(&cfg, "  %s: {provider: openai, base_url: %q, model_id: %s}\n", m, url, m)
			if v == fbChat || v == fbStream {
				fallbacks = append(fallbacks, m+": [healthy]")
			}
		}
	}
	sort.Strings(fallbacks)
	fmt.Fprintf(&cfg, `routing: {simple: healthy, fallbacks: {%s}}
upstream: {timeout: 1s, stream_idle_timeout: 1s, dial_timeout: 1s}
retries: {max_attempts: 2, base: 1ms, max: 1s, budget: 5s}
cache: {threshold: 0.9999}
auth:
  admin_key_env: TEST_ADMIN_KEY
  keys:
    - {key_env: TEST_KEY_A, tenant: team-a}
`, strings.Join(fallbacks, ", "))
	base, _ := serve(t, cfg.String(), "embedded://"+t.TempDir(), "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")

	for i, row := range rows {
		for v := range 4 {
			t.Run(row.name+"/"+variantNames[v], func(t *testing.T) {
				want := row.want[v]
				stream := v == fbStream || v == soloStream
				m := model(i, v)
				session := "fault-" + m
				before := cacheEntries(t, base)
				start := time.Now()
				resp, body := post(t, base+"/v1/chat/completions",
					fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":"Explain the history of the fault matrix row %s"}]}`, m, stream, m),
					"Authorization", "Bearer key-a", "X-Cato-Session", session)
				took := time.Since(start)
				if resp.StatusCode != want.status {
					t.Fatalf("status %d; want %d\n%s", resp.StatusCode, want.status, body)
				}
				if got := errorCode(t, resp, body); got != want.code {
					t.Errorf("error code %q; want %q\n%s", got, want.code, body)
				}
				if want.model != "" {
					wantModel := want.model
					if wantModel == primary {
						wantModel = m
					}
					if got := resp.Header.Get("X-Cato-Model"); got != wantModel {
						t.Errorf("X-Cato-Model %q; want %q", got, wantModel)
					}
				}
				if stream && resp.StatusCode == 200 {
					if done := strings.Contains(string(body), "data: [DONE]"); done != want.done {
						t.Errorf("stream ends with [DONE] = %v; want %v\n%s", done, want.done, body)
					}
				}
				if got := resp.Header.Get("Retry-After"); got != want.retryAfter {
					t.Errorf("Retry-After %q; want %q", got, want.retryAfter)
				}
				if turns := sessionTurns(t, base, session); (turns > 0) != want.kept {
					t.Errorf("session kept %d turns; want kept = %v", turns, want.kept)
				}
				if added := cacheEntries(t, base) - before; (added > 0) != want.kept {
					t.Errorf("cache entries added: %d; want kept = %v", added, want.kept)
				}
				// Generous: the slowest rows wait for two 1s attempts and the
				// fallback.
				if took > 15*time.Second {
					t.Errorf("took %v", took)
				}
			})
		}
	}
}

var sseErrorCode = regexp.MustCompile(`"code":"([a-z_]+)"`)

// errorCode returns the code of a JSON error body, or of the error event
// that ends an event stream; "" when there is none.
func errorCode(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"error":`) {
				if m := sseErrorCode.FindStringSubmatch(line); m != nil {
					return m[1]
				}
				return "?"
			}
		}
		return ""
	}
	if resp.StatusCode == 200 {
		return ""
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	return e.Error.Code
}

// sessionTurns returns how many turns session id of the tenant of key-a
// holds: 0 when it does not exist.
func sessionTurns(t *testing.T, base, id string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/cato/sessions/"+id, nil)
	req.Header.Set("Authorization", "Bearer key-a")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := readAll(t, resp)
	if resp.StatusCode == http.StatusNotFound {
		return 0
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET session %s: %d %s", id, resp.StatusCode, b)
	}
	return len(decode[struct {
		Turns []json.RawMessage `json:"turns"`
	}](t, b).Turns)
}
