package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cato-gateway/cato/internal/feedback"
	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/rollout"
)

// StatusClientClosed is the status logged for a client that went away
// before its answer was ready; nothing is sent.
const StatusClientClosed = 499

// Codes of the failures api finds itself. The codes of other failures
// are in describe, and those of a model call are provider.Code values.
const (
	codeMissingKey       = "missing_api_key"
	codeInvalidKey       = "invalid_api_key"
	codeAdminDisabled    = "admin_disabled"
	codeNotAdmin         = "not_admin"
	codeUnreadableBody   = "unreadable_body"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInvalidLimit     = "invalid_limit"
	// codeInvalidKeyDocument refuses a key document of the admin API.
	codeInvalidKeyDocument = "invalid_key_document"
)

// failure is a failure api finds itself: a missing key, an unknown path, a
// bad query parameter. Its code decides its status and type (failureKind);
// its message is what the client reads.
type failure struct {
	code string
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code, msg string) error { return &failure{code: code, msg: msg} }

// failureKind returns the status and OpenAI error type of a failure code.
func failureKind(code string) (int, string) {
	switch code {
	case codeMissingKey, codeInvalidKey:
		return http.StatusUnauthorized, openai.TypeAuthentication
	case codeAdminDisabled, codeNotAdmin:
		return http.StatusForbidden, openai.TypePermission
	case codeNotFound:
		return http.StatusNotFound, openai.TypeInvalidRequest
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed, openai.TypeInvalidRequest
	case codeUnreadableBody, codeInvalidLimit, codeInvalidKeyDocument:
		return http.StatusBadRequest, openai.TypeInvalidRequest
	case codeSlowBody:
		return http.StatusRequestTimeout, openai.TypeInvalidRequest
	case codeOverloaded, codeShuttingDown:
		return http.StatusServiceUnavailable, openai.TypeServer
	}
	return http.StatusInternalServerError, openai.TypeServer
}

// errShuttingDown answers a request that ErrShutdown ended.
var errShuttingDown = fail(codeShuttingDown, "the gateway shut down before the request finished; retry it")

// describe maps err to the status, OpenAI error object and Retry-After
// seconds (zero: none) it is answered with. It is the one place where an
// error becomes a status: handlers return or pass errors, and writeError
// (or a stream's error event) answers with what describe says. A failure
// of the request as sent is always a 4xx.
//
// The message of a failure of Cato's own or of what it depends on (a
// store, the legacy side, an upstream that did not answer, a deadline)
// names the failing component and the request id reqID, never the Go
// error under it: that error holds addresses, URLs and driver messages,
// and goes to the log under the same request id (writeError logs it).
// An upstream's own OpenAI error document is passed through as it came
// (describeProvider), and a request the client can fix keeps the reason.
func describe(err error, reqID string) (int, openai.ErrorBody, int) {
	var f *failure
	var re *openai.RequestError
	var pe *provider.Error
	var mbe *http.MaxBytesError
	if status, body, retry, ok := describeKeys(err, reqID); ok {
		return status, body, retry
	}
	switch {
	case errors.As(err, &f):
		status, typ := failureKind(f.code)
		retry := 0
		if f.code == codeOverloaded || f.code == codeShuttingDown {
			retry = 1
		}
		return status, openai.NewError(typ, f.code, "", f.msg), retry
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, openai.NewError(openai.TypeInvalidRequest, "request_too_large",
			"", "the request body is larger than the limit of "+strconv.FormatInt(mbe.Limit, 10)+" bytes"), 0
	case errors.As(err, &re):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_request", re.Param, re.Error()), 0
	case errors.Is(err, memory.ErrInvalidKey), errors.Is(err, memory.ErrInvalidInteraction):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_memory_request", "", err.Error()), 0
	case errors.Is(err, memory.ErrDisabled):
		return http.StatusForbidden, openai.NewError(openai.TypePermission, "memory_disabled", "", "long-term memory is disabled for this tenant"), 0
	case errors.Is(err, orchestrator.ErrInvalidSession):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_session_id", "session_id", err.Error()), 0
	case errors.Is(err, feedback.ErrInvalid):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_feedback", "", err.Error()), 0
	case errors.Is(err, feedback.ErrUnknownRequest):
		return http.StatusNotFound, openai.NewError(openai.TypeNotFound, "request_not_found", "request_id",
			"no answer of this tenant has that request id, or it is too old to rate"), 0
	case errors.Is(err, rollout.ErrInvalidFlag):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_rollout", "", err.Error()), 0
	case errors.Is(err, orchestrator.ErrResponseNotFound):
		// As OpenAI answers it: the request names a response it cannot have.
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "previous_response_not_found", "previous_response_id", err.Error()), 0
	case errors.Is(err, orchestrator.ErrSessionNotFound):
		return http.StatusNotFound, openai.NewError(openai.TypeNotFound, "session_not_found", "", err.Error()), 0
	case errors.Is(err, orchestrator.ErrStoreUnavailable), errors.Is(err, rollout.ErrStoreUnavailable), errors.Is(err, feedback.ErrStoreUnavailable):
		what := "the state store"
		switch {
		case errors.Is(err, rollout.ErrStoreUnavailable):
			what = "the rollout flag store"
		case errors.Is(err, feedback.ErrStoreUnavailable):
			what = "the feedback store"
		}
		return http.StatusServiceUnavailable, openai.NewError(openai.TypeServer, "store_unavailable", "", hidden(what+" is unavailable", reqID)), 1
	case errors.Is(err, orchestrator.ErrModelNotFound):
		return http.StatusNotFound, openai.NewError(openai.TypeInvalidRequest, "model_not_found", "model", err.Error()), 0
	case errors.Is(err, context.Canceled):
		return StatusClientClosed, openai.NewError(openai.TypeInvalidRequest, "client_closed", "", "the client closed the request"), 0
	case errors.Is(err, rollout.ErrLegacyUnavailable):
		return http.StatusBadGateway, openai.NewError(openai.TypeUpstream, "legacy_unavailable", "", hidden(rollout.ErrLegacyUnavailable.Error(), reqID)), 0
	case errors.As(err, &pe):
		return describeProvider(pe, reqID)
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, openai.NewError(openai.TypeServer, "timeout", "", hidden("the request ran out of time", reqID)), 0
	}
	return http.StatusInternalServerError, openai.NewError(openai.TypeServer, "internal_error", "", hidden("internal error", reqID)), 0
}

// hidden is the message of a failure whose cause stays in the log: what
// failed, and the request id to find the cause under.
func hidden(what, reqID string) string {
	if reqID == "" {
		return what + "; the cause is in Cato's log"
	}
	return what + " (request id " + reqID + "); the cause is in Cato's log under that id"
}

// providerWhat says, in words, what went wrong for a provider code whose
// cause stays in the log.
var providerWhat = map[provider.Code]string{
	provider.CodeUpstreamUnreachable: "the upstream could not be reached",
	provider.CodeConnectionError:     "the connection to the upstream failed",
	provider.CodeConnectionReset:     "the upstream reset the connection",
	provider.CodeTimeout:             "the upstream did not answer in time",
	provider.CodeDeadlineExceeded:    "the request's time ran out before a model answered",
	provider.CodeThrottled:           "the upstream is rate-limiting calls",
	provider.CodeBreakerOpen:         "the model's circuit breaker is open",
	provider.CodeModelOverloaded:     "the model is at its concurrency limit",
	provider.CodeAccessDenied:        "the upstream refused Cato's credentials",
	provider.CodeBadResponse:         "the upstream's answer could not be read",
	provider.CodeBadUpstreamResponse: "the upstream's answer could not be read",
	provider.CodeBadUpstreamURL:      "the configured upstream URL is unusable",
	provider.CodeIncompleteStream:    "the upstream's stream ended early",
}

// describeProvider maps an upstream failure that survived every fallback.
// An upstream's own error document reaches the client as sent, with the
// upstream's status, except a 401 or 403 (the upstream refused Cato's
// credentials, which the client cannot fix: a 502 of Cato's own).
func describeProvider(pe *provider.Error, reqID string) (int, openai.ErrorBody, int) {
	retry := int((pe.RetryAfter + 999_999_999) / 1_000_000_000)
	if s := pe.StatusCode; s >= 400 && s != http.StatusUnauthorized && s != http.StatusForbidden && s != http.StatusProxyAuthRequired {
		if body, ok := openai.UpstreamError(pe.Upstream); ok {
			if s == http.StatusTooManyRequests && retry == 0 {
				retry = 1
			}
			return s, body, retry
		}
	}
	code := pe.Code
	if code == "" {
		code = provider.CodeUpstreamError
	}
	what, ok := providerWhat[code]
	if !ok {
		what = "the upstream failed (" + string(code) + ")"
	}
	msg := hidden("model "+pe.Model+": "+what, reqID)
	switch s := pe.StatusCode; {
	case s == http.StatusTooManyRequests:
		if retry == 0 {
			retry = 1
		}
		return s, openai.NewError(openai.TypeRateLimit, string(code), "", msg), retry
	case s == http.StatusBadRequest, s == http.StatusNotFound, s == http.StatusRequestEntityTooLarge, s == http.StatusUnprocessableEntity:
		// The model refused the request as sent: the client can fix it,
		// and needs the reason.
		return s, openai.NewError(openai.TypeInvalidRequest, string(code), pe.Param, pe.Error()), 0
	case s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		if code == provider.CodeBreakerOpen && retry == 0 {
			retry = 1 // half open with its probes taken: try again soon
		}
		return s, openai.NewError(openai.TypeUpstream, string(code), "", msg), retry
	}
	// 401/403 from an upstream are Cato's own credentials, not the client's;
	// everything else is a bad gateway.
	return http.StatusBadGateway, openai.NewError(openai.TypeUpstream, string(code), "", msg), 0
}

// writeError answers with err in OpenAI's error shape, as describe maps
// it, and logs a 5xx. A client that went away gets nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	if shutDown(r.Context()) {
		err = errShuttingDown
	}
	status, body, retry := describe(err, requestID(r.Context()))
	if status == StatusClientClosed {
		return status
	}
	if status >= 500 {
		s.opt.Log.WarnContext(r.Context(), "request failed", "status", status, slog.Any("err", err))
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	setFailureHeaders(w.Header(), err)
	writeJSON(w, status, body)
	return status
}

// setFailureHeaders gives Cato's account of a failed model call in its
// own headers, leaving the error document to the upstream's words:
// X-Cato-Model names the model whose error is answered, X-Cato-Tried
// every model tried, in order.
func setFailureHeaders(h http.Header, err error) {
	var pe *provider.Error
	if !errors.As(err, &pe) {
		return
	}
	h.Set("X-Cato-Model", pe.Model)
	var tried []string
	var walk func(error)
	walk = func(err error) {
		if pe, ok := err.(*provider.Error); ok && !slices.Contains(tried, pe.Model) {
			tried = append(tried, pe.Model)
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		}
	}
	walk(err)
	h.Set("X-Cato-Tried", strings.Join(tried, ", "))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"encoding the answer failed","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	writeBody(w, status, b)
}

// writeBody answers with the JSON document b and a newline.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	// The request's own storage for both values, where Header.Set would
	// allocate one each; the keys are in canonical form, as Set writes
	// them.
	rw := responseOf(w)
	rw.bodyValues = [...]string{"application/json", strconv.Itoa(len(b) + 1)}
	vals := rw.bodyValues[:]
	h := w.Header()
	h["Content-Type"] = vals[0:1:1]
	h["Content-Length"] = vals[1:2:2]
	w.WriteHeader(status)
	// The newline is written on its own rather than appended to b, which
	// json.Marshal sized exactly.
	if _, err := w.Write(b); err == nil {
		_, _ = io.WriteString(w, "\n")
	}
}
