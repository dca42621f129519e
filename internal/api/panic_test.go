package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/openai"
)

// TestPanicRecovery: a handler that panics before it answered gets a 500
// in OpenAI's error shape; one that panics after an event stream began
// ends the stream with an error event, not a JSON document written into
// it; one that panics after another answer began is aborted.
func TestPanicRecovery(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, resp *http.Response, body string, err error)
	}{
		{
			name:    "before the answer",
			handler: func(http.ResponseWriter, *http.Request) { panic("boom") },
			check: func(t *testing.T, resp *http.Response, body string, err error) {
				var doc openai.ErrorBody
				if err != nil || resp.StatusCode != 500 || json.Unmarshal([]byte(body), &doc) != nil || doc.Error.Code == nil || *doc.Error.Code != "internal_error" {
					t.Errorf("got %v %q (%v); want 500 internal_error", resp.StatusCode, body, err)
				}
			},
		},
		{
			name: "after the first chunk of a stream",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(http.StatusOK)
				_ = openai.WriteEvent(w, []byte(`{"choices":[{"index":0,"delta":{"content":"Hel"}}]}`))
				_ = http.NewResponseController(w).Flush()
				panic("boom")
			},
			check: func(t *testing.T, resp *http.Response, body string, err error) {
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("got %v (%v); want the stream's 200 read to its end", resp.StatusCode, err)
				}
				var events []string
				sc := bufio.NewScanner(strings.NewReader(body))
				for sc.Scan() {
					line := sc.Text()
					if line == "" {
						continue
					}
					data, ok := strings.CutPrefix(line, "data: ")
					if !ok {
						t.Errorf("line %q is not an event's data: the stream holds something else", line)
						continue
					}
					events = append(events, data)
				}
				if len(events) != 2 {
					t.Fatalf("events = %q; want the chunk and an error event", events)
				}
				var ev openai.ErrorBody
				if err := json.Unmarshal([]byte(events[1]), &ev); err != nil || ev.Error.Code == nil || *ev.Error.Code != "internal_error" || !strings.Contains(ev.Error.Message, "req-panic") {
					t.Errorf("last event = %s; want an internal_error event naming the request id", events[1])
				}
			},
		},
		{
			name: "after a JSON answer began",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, `{"id":`)
				_ = http.NewResponseController(w).Flush()
				panic("boom")
			},
			check: func(t *testing.T, resp *http.Response, body string, err error) {
				if err == nil {
					t.Errorf("read %q to a clean end; want the answer broken off", body)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			s.mux = http.NewServeMux()
			s.mux.Handle("/", tt.handler)
			srv := httptest.NewServer(s)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			req.Header.Set("X-Request-Id", "req-panic")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			tt.check(t, resp, string(b), err)
		})
	}
}

type failingBody struct{ err error }

func (b failingBody) Read([]byte) (int, error) { return 0, b.err }

// TestUnreadableBodyHidesAddresses: a body that fails to arrive is a 400
// (408 when its read deadline passed) whose message says what happened,
// not the connection's addresses.
func TestUnreadableBodyHidesAddresses(t *testing.T) {
	s := New(Options{})
	for _, tt := range []struct {
		cause  error
		status int
		code   string
	}{
		{errors.New("read tcp 10.0.0.1:8080->10.0.0.2:5555: read: connection reset by peer"), 400, codeUnreadableBody},
		{&net.OpError{Op: "read", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 8080}, Err: os.ErrDeadlineExceeded}, 408, codeSlowBody},
	} {
		cause := tt.cause
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", failingBody{cause})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		var doc openai.ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != tt.status || doc.Error.Code == nil || *doc.Error.Code != tt.code {
			t.Errorf("%v: %d %s; want %d %s", cause, rec.Code, rec.Body.String(), tt.status, tt.code)
		}
		if strings.Contains(rec.Body.String(), "10.0.0") {
			t.Errorf("%v: body %s names an address", cause, rec.Body.String())
		}
	}
}
