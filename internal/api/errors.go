package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/provider"
)

// StatusClientClosed is the status logged for a client that went away
// before its answer was ready; nothing is sent.
const StatusClientClosed = 499

// httpError is an error that already knows its status and OpenAI type.
type httpError struct {
	status int
	typ    string
	code   string
	param  string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errStatus(status int, typ, code, msg string) error {
	return &httpError{status: status, typ: typ, code: code, msg: msg}
}

// describe maps err to the status, OpenAI error object and Retry-After
// seconds (zero: none) it is answered with.
func describe(err error) (int, openai.ErrorBody, int) {
	var he *httpError
	var re *openai.RequestError
	var pe *provider.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, openai.NewError(he.typ, he.code, he.param, he.msg), 0
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, openai.NewError(openai.TypeInvalidRequest, "request_too_large",
			"", "the request body is larger than the limit of "+strconv.FormatInt(mbe.Limit, 10)+" bytes"), 0
	case errors.As(err, &re):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_request", re.Param, re.Error()), 0
	case errors.Is(err, orchestrator.ErrInvalidSession):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, "invalid_session_id", "session_id", err.Error()), 0
	case errors.Is(err, orchestrator.ErrSessionNotFound):
		return http.StatusNotFound, openai.NewError(openai.TypeNotFound, "session_not_found", "", err.Error()), 0
	case errors.Is(err, orchestrator.ErrStoreUnavailable):
		return http.StatusServiceUnavailable, openai.NewError(openai.TypeServer, "store_unavailable", "", err.Error()), 1
	case errors.Is(err, orchestrator.ErrModelNotFound):
		return http.StatusNotFound, openai.NewError(openai.TypeInvalidRequest, "model_not_found", "model", err.Error()), 0
	case errors.Is(err, context.Canceled):
		return StatusClientClosed, openai.NewError(openai.TypeInvalidRequest, "client_closed", "", "the client closed the request"), 0
	case errors.As(err, &pe):
		return describeProvider(pe)
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, openai.NewError(openai.TypeServer, "timeout", "", "the request ran out of time: "+err.Error()), 0
	}
	return http.StatusInternalServerError, openai.NewError(openai.TypeServer, "internal_error", "", "internal error"), 0
}

// describeProvider maps an upstream failure that survived every fallback.
func describeProvider(pe *provider.Error) (int, openai.ErrorBody, int) {
	msg := pe.Error()
	code := pe.Code
	if code == "" {
		code = "upstream_error"
	}
	retry := int((pe.RetryAfter + 999_999_999) / 1_000_000_000)
	switch s := pe.StatusCode; {
	case s == http.StatusTooManyRequests:
		if retry == 0 {
			retry = 1
		}
		return s, openai.NewError(openai.TypeRateLimit, code, "", msg), retry
	case s == http.StatusBadRequest, s == http.StatusNotFound, s == http.StatusRequestEntityTooLarge, s == http.StatusUnprocessableEntity:
		// The model refused the request as sent: the client can fix it.
		return s, openai.NewError(openai.TypeInvalidRequest, code, "", msg), 0
	case s == http.StatusServiceUnavailable, s == http.StatusGatewayTimeout:
		return s, openai.NewError(openai.TypeUpstream, code, "", msg), retry
	}
	// 401/403 from an upstream are Cato's own credentials, not the client's;
	// everything else is a bad gateway.
	return http.StatusBadGateway, openai.NewError(openai.TypeUpstream, code, "", msg), 0
}

// writeError answers with err in OpenAI's error shape. A client that went
// away gets nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	status, body, retry := describe(err)
	if status == StatusClientClosed {
		return status
	}
	if status >= 500 {
		s.opt.Log.WarnContext(r.Context(), "request failed", "status", status, slog.Any("err", err))
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	writeJSON(w, status, body)
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"encoding the answer failed","type":"server_error","param":null,"code":"internal_error"}}`)
	}
	// One backing array for both values, where Header.Set would allocate
	// one each; the keys are in canonical form, as Set writes them.
	hv := [...]string{"application/json", strconv.Itoa(len(b) + 1)}
	vals := hv[:]
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
