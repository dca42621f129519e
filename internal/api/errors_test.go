package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/rollout"
)

func TestWriteJSON(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		rec := httptest.NewRecorder()
		var w http.ResponseWriter = rec
		if wrap {
			w = &response{ResponseWriter: rec}
		}
		writeJSON(w, http.StatusTeapot, map[string]any{"a": "<b>", "n": 1})
		want := "{\"a\":\"\\u003cb\\u003e\",\"n\":1}\n"
		if rec.Code != http.StatusTeapot || rec.Body.String() != want {
			t.Errorf("wrapped %v: got %d %q, want %d %q", wrap, rec.Code, rec.Body.String(), http.StatusTeapot, want)
		}
		wantH := http.Header{}
		wantH.Set("Content-Type", "application/json")
		wantH.Set("Content-Length", "28")
		if diff := cmp.Diff(wantH, rec.Header()); diff != "" {
			t.Errorf("wrapped %v: headers mismatch (-want +got):\n%s", wrap, diff)
		}
		if sw, ok := w.(*response); ok && sw.status != http.StatusTeapot {
			t.Errorf("response recorded %d", sw.status)
		}
	}
}

// TestDescribe is the table of the one error mapping: every code Cato
// answers with, the status, the OpenAI error object and Retry-After.
func TestDescribe(t *testing.T) {
	type want struct {
		status int
		typ    string
		code   string
		param  string // "" means null
		msg    string // "" means any
		retry  int
	}
	pe := func(status int, code provider.Code, retry time.Duration) error {
		return fmt.Errorf("fallback: %w", &provider.Error{Model: "m", StatusCode: status, Code: code, RetryAfter: retry, Err: errors.New("upstream said no")})
	}
	tests := []struct {
		name string
		err  error
		want want
	}{
		// Failures api finds itself.
		{"missing key", fail(codeMissingKey, "an API key is required"), want{401, openai.TypeAuthentication, "missing_api_key", "", "an API key is required", 0}},
		{"invalid key", fail(codeInvalidKey, "the API key is not valid"), want{401, openai.TypeAuthentication, "invalid_api_key", "", "the API key is not valid", 0}},
		{"admin disabled", fail(codeAdminDisabled, "no admin key"), want{403, openai.TypePermission, "admin_disabled", "", "no admin key", 0}},
		{"not admin", fail(codeNotAdmin, "not admin"), want{403, openai.TypePermission, "not_admin", "", "not admin", 0}},
		{"unreadable body", fail(codeUnreadableBody, "reading"), want{400, openai.TypeInvalidRequest, "unreadable_body", "", "reading", 0}},
		{"unknown path", fail(codeNotFound, "no route for GET /x"), want{404, openai.TypeInvalidRequest, "not_found", "", "no route for GET /x", 0}},
		{"wrong method", fail(codeMethodNotAllowed, "PUT is not allowed here"), want{405, openai.TypeInvalidRequest, "method_not_allowed", "", "PUT is not allowed here", 0}},
		{"bad limit", fail(codeInvalidLimit, "limit must be a positive integer"), want{400, openai.TypeInvalidRequest, "invalid_limit", "", "limit must be a positive integer", 0}},
		// The request as sent.
		{"body too large", fmt.Errorf("reading: %w", &http.MaxBytesError{Limit: 10}), want{413, openai.TypeInvalidRequest, "request_too_large", "", "the request body is larger than the limit of 10 bytes", 0}},
		{"invalid request", &openai.RequestError{Param: "messages", Message: "is required"}, want{400, openai.TypeInvalidRequest, "invalid_request", "messages", "", 0}},
		{"invalid session id", fmt.Errorf("%w: too long", orchestrator.ErrInvalidSession), want{400, openai.TypeInvalidRequest, "invalid_session_id", "session_id", "", 0}},
		{"invalid rollout", fmt.Errorf("%w: percentage 150 is not between 0 and 100", rollout.ErrInvalidFlag), want{400, openai.TypeInvalidRequest, "invalid_rollout", "", "", 0}},
		{"session not found", orchestrator.ErrSessionNotFound, want{404, openai.TypeNotFound, "session_not_found", "", "", 0}},
		{"model not found", fmt.Errorf("%w: %q", orchestrator.ErrModelNotFound, "gpt-9"), want{404, openai.TypeInvalidRequest, "model_not_found", "model", "", 0}},
		{"client went away", fmt.Errorf("answering: %w", context.Canceled), want{499, openai.TypeInvalidRequest, "client_closed", "", "the client closed the request", 0}},
		// Cato's own state.
		{"session store down", fmt.Errorf("%w: redis down", orchestrator.ErrStoreUnavailable), want{503, openai.TypeServer, "store_unavailable", "", "", 1}},
		{"rollout store down", fmt.Errorf("%w: redis down", rollout.ErrStoreUnavailable), want{503, openai.TypeServer, "store_unavailable", "", "", 1}},
		{"legacy down", fmt.Errorf("%w: dial tcp 10.0.0.1:4000: refused", rollout.ErrLegacyUnavailable), want{502, openai.TypeUpstream, "legacy_unavailable", "", "the legacy upstream did not answer (request id req-1); the cause is in Cato's log under that id", 0}},
		{"out of time", fmt.Errorf("answering: %w", context.DeadlineExceeded), want{504, openai.TypeServer, "timeout", "", "", 0}},
		{"anything else", errors.New("bug"), want{500, openai.TypeServer, "internal_error", "", "internal error (request id req-1); the cause is in Cato's log under that id", 0}},
		// A model call that failed after every fallback.
		{"throttled", pe(429, provider.CodeThrottled, 0), want{429, openai.TypeRateLimit, "throttled", "", "", 1}},
		{"throttled with a hint", pe(429, provider.CodeThrottled, 2500*time.Millisecond), want{429, openai.TypeRateLimit, "throttled", "", "", 3}},
		{"refused as sent", pe(400, provider.CodeInvalidRequest, 0), want{400, openai.TypeInvalidRequest, "invalid_request", "", "", 0}},
		{"upstream 404", pe(404, provider.CodeModelNotFound, 0), want{404, openai.TypeInvalidRequest, "model_not_found", "", "", 0}},
		{"upstream 413", pe(413, "", 0), want{413, openai.TypeInvalidRequest, "upstream_error", "", "", 0}},
		{"upstream 422", pe(422, provider.Code("validation_error"), 0), want{422, openai.TypeInvalidRequest, "validation_error", "", "", 0}},
		{"breaker open", pe(503, provider.CodeBreakerOpen, 0), want{503, openai.TypeUpstream, "breaker_open", "", "", 1}},
		{"breaker open with time left", pe(503, provider.CodeBreakerOpen, 12300*time.Millisecond), want{503, openai.TypeUpstream, "breaker_open", "", "", 13}},
		{"overloaded with a hint", pe(503, provider.CodeModelOverloaded, time.Second), want{503, openai.TypeUpstream, "model_overloaded", "", "", 1}},
		{"attempt timed out", pe(504, provider.CodeTimeout, 0), want{504, openai.TypeUpstream, "timeout", "", "", 0}},
		{"Cato's credentials refused", pe(403, provider.CodeAccessDenied, 0), want{502, openai.TypeUpstream, "access_denied", "", "", 0}},
		{"upstream 500", pe(500, provider.CodeInternalError, 0), want{502, openai.TypeUpstream, "internal_error", "", "", 0}},
		{"unreachable", pe(502, provider.CodeUpstreamUnreachable, 0), want{502, openai.TypeUpstream, "upstream_unreachable", "", "", 0}},
		{"no code", pe(0, "", 0), want{502, openai.TypeUpstream, "upstream_error", "", "", 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, retry := describe(tt.err, "req-1")
			e := body.Error
			got := want{status: status, typ: e.Type, retry: retry, msg: e.Message}
			if e.Code != nil {
				got.code = *e.Code
			}
			if e.Param != nil {
				got.param = *e.Param
			}
			if tt.want.msg == "" {
				got.msg = ""
			}
			if got != tt.want {
				t.Errorf("describe(%v) = %+v; want %+v", tt.err, got, tt.want)
			}
			if e.Message == "" {
				t.Errorf("describe(%v) has no message", tt.err)
			}
			// A failure of Cato's or of what it depends on names the
			// request id and hides the Go error under it.
			if status/100 == 5 || status == http.StatusTooManyRequests {
				if !strings.Contains(e.Message, "req-1") {
					t.Errorf("describe(%v) message %q lacks the request id", tt.err, e.Message)
				}
				for _, cause := range []string{"upstream said no", "redis down", "dial tcp", "10.0.0.1", "bug"} {
					if strings.Contains(e.Message, cause) {
						t.Errorf("describe(%v) message %q holds the cause %q", tt.err, e.Message, cause)
					}
				}
			}
			if status/100 == 5 && errors.As(tt.err, new(*openai.RequestError)) {
				t.Errorf("describe(%v) = %d: a request the client got wrong is never a 5xx", tt.err, status)
			}
		})
	}
}

// writeError answers in OpenAI's error shape, with Retry-After when
// describe gives one, and nothing to a client that went away.
func TestWriteErrorShape(t *testing.T) {
	s := New(Options{})
	for _, err := range []error{
		fail(codeNotFound, "no route"),
		&provider.Error{StatusCode: 429, Code: provider.CodeThrottled, Err: errors.New("slow down")},
		fmt.Errorf("%w: down", orchestrator.ErrStoreUnavailable),
	} {
		rec := httptest.NewRecorder()
		status := s.writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), err)
		var doc struct {
			Error map[string]*string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || rec.Code != status {
			t.Fatalf("writeError(%v): %d %q, %v", err, rec.Code, rec.Body.String(), err)
		}
		keys := slices.Sorted(maps.Keys(doc.Error))
		if !slices.Equal(keys, []string{"code", "message", "param", "type"}) {
			t.Errorf("writeError(%v) body keys = %v; want code, message, param, type", err, keys)
		}
		_, _, retry := describe(err, "")
		if got := rec.Header().Get("Retry-After"); (retry > 0) != (got != "") {
			t.Errorf("writeError(%v) Retry-After = %q; describe says %d", err, got, retry)
		}
	}
	rec := httptest.NewRecorder()
	if s.writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), context.Canceled); rec.Body.Len() != 0 {
		t.Errorf("writeError to a client that went away wrote %q; want nothing", rec.Body.String())
	}
}
