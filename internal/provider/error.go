package provider

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error is a failed call to a model endpoint. Adapters return it (possibly
// wrapped) for every failure they can classify; api maps it to a status.
type Error struct {
	// Model is the configured model name that failed.
	Model string
	// StatusCode is the HTTP status Cato should answer with if this error
	// ends the request: the upstream's own status when it speaks HTTP, or
	// the closest match for what went wrong (504 for a timeout, 502 for a
	// broken connection). Zero means 502.
	StatusCode int
	// Code is a short machine-readable reason: one of the Code constants,
	// or the upstream's own error code (ThrottlingException…). Empty means
	// CodeUpstreamError.
	Code Code
	// Retryable reports whether the same request may succeed if sent again:
	// throttling, timeouts, 5xx and connection failures are; a request the
	// model rejected is not. Only retryable errors count against a breaker.
	Retryable bool
	// RetryAfter is the upstream's Retry-After hint; zero when absent.
	// For an open breaker it is the time left until it half-opens.
	RetryAfter time.Duration
	// Param names the request field at fault in a request an adapter
	// refuses itself (Bedrock and "n"); empty otherwise.
	Param string
	// Upstream is the error document the upstream answered with, exactly
	// as sent, when it is OpenAI's {"error": {...}}; nil otherwise. api
	// passes it to the client unchanged (docs/api.md, Errors).
	Upstream []byte
	// Err is the underlying cause.
	Err error
}

// Code is the machine-readable reason of an Error. It becomes the code of
// OpenAI's error object. Adapters set one of the constants below for what
// Cato classifies itself, and pass an upstream's own code through as
// Code(v).
type Code string

// Reasons Cato gives for a failed model call.
const (
	CodeUpstreamError       Code = "upstream_error"           // the upstream answered an error status
	CodeUpstreamUnreachable Code = "upstream_unreachable"     // no connection to the upstream
	CodeConnectionError     Code = "connection_error"         // the connection failed during the call
	CodeConnectionReset     Code = "connection_reset"         // the upstream reset the connection
	CodeTimeout             Code = "timeout"                  // the attempt ran out of time
	CodeDeadlineExceeded    Code = "deadline_exceeded"        // the request's budget ran out across fallbacks
	CodeCanceled            Code = "canceled"                 // the caller went away
	CodeThrottled           Code = "throttled"                // the upstream rate-limited the call
	CodeQuotaExceeded       Code = "quota_exceeded"           // the account's quota is spent; retrying does not help
	CodeModelNotReady       Code = "model_not_ready"          // the model is loading or scaling
	CodeModelNotFound       Code = "model_not_found"          // no such model, upstream or in Cato's configuration
	CodeModelOverloaded     Code = "model_overloaded"         // Cato's own concurrency limit for the model is reached
	CodeBreakerOpen         Code = "breaker_open"             // the model's breaker refuses calls
	CodeUnavailable         Code = "unavailable"              // the service says it is unavailable
	CodeInternalError       Code = "internal_error"           // the service failed internally
	CodeInternalDependency  Code = "internal_dependency"      // a dependency of the service failed
	CodeModelError          Code = "model_error"              // the model's container failed the call
	CodeModelStreamError    Code = "model_stream_error"       // the model failed while streaming
	CodeInternalStream      Code = "internal_stream_failure"  // the service failed while streaming
	CodeIncompleteStream    Code = "incomplete_stream"        // the stream ended without its final event
	CodeUpstreamStreamError Code = "upstream_stream_error"    // the upstream sent an error event in a stream
	CodeBadResponse         Code = "bad_response"             // the answer could not be read
	CodeBadUpstreamResponse Code = "bad_upstream_response"    // an OpenAI-compatible answer could not be read
	CodeBadUpstreamURL      Code = "bad_upstream_url"         // the configured upstream URL is unusable
	CodeInvalidRequest      Code = "invalid_request"          // the model refused the request as sent
	CodeAccessDenied        Code = "access_denied"            // the upstream refused Cato's credentials
	CodeSimulatedError      Code = "simulated_error"          // a failure the simulated model was told to inject
	CodeStreamIdle          Code = "stream_idle_timeout"      // a started stream sent no chunk within the idle timeout
	CodeLocalExhausted      Code = "local_resource_exhausted" // Cato itself ran out of file descriptors, ports, memory or pooled connections
)

func (e *Error) Error() string {
	status := e.StatusCode
	if status == 0 {
		status = http.StatusBadGateway
	}
	return fmt.Sprintf("model %s: %d %s: %v", e.Model, status, e.Code, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a provider Error marked retryable.
func IsRetryable(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Retryable
}

// StatusRetryable reports whether an upstream HTTP status says the model is
// unwell or busy (so a retry, or another model, may succeed): 408, 429 and
// every 5xx except 501. Of these, 429 does not count against a breaker by
// default (see GuardConfig.FailureStatuses).
func StatusRetryable(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented:
		return false
	case status >= 500:
		return true
	}
	return false
}

// ParseRetryAfter reads a Retry-After header value given in seconds or as an
// HTTP date. It returns zero for an empty or unreadable value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
