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
	// Code is a short machine-readable reason ("throttled", "timeout",
	// "upstream_error", the upstream's own error code…).
	Code string
	// Retryable reports whether the same request may succeed if sent again:
	// throttling, timeouts, 5xx and connection failures are; a request the
	// model rejected is not. Only retryable errors count against a breaker.
	Retryable bool
	// RetryAfter is the upstream's Retry-After hint; zero when absent.
	RetryAfter time.Duration
	// Err is the underlying cause.
	Err error
}

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
// every 5xx except 501.
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
