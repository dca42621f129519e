package awsenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cato-gateway/cato/internal/provider"
)

func knownCodes(code string) (Class, bool) {
	if code == "ThrottlingException" {
		return Class{StatusCode: 429, Code: "throttled", Retryable: true}, true
	}
	return Class{}, false
}

// sdkError wraps apiErr the way the SDK does: an operation error around a
// response error that carries the HTTP response.
func sdkError(status int, header http.Header, apiErr error) error {
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}}
	return &smithy.OperationError{ServiceID: "Bedrock Runtime", OperationName: "Converse",
		Err: &smithyhttp.ResponseError{Response: resp, Err: apiErr}}
}

func TestClassify(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		err       error
		status    int
		code      provider.Code
		retryable bool
		retryIn   time.Duration
	}{
		{name: "known code", err: sdkError(400, nil, &smithy.GenericAPIError{Code: "ThrottlingException"}),
			status: 429, code: "throttled", retryable: true},
		{name: "retry after header", err: sdkError(429, http.Header{"Retry-After": {"3"}}, &smithy.GenericAPIError{Code: "ThrottlingException"}),
			status: 429, code: "throttled", retryable: true, retryIn: 3 * time.Second},
		{name: "unknown code takes the status", err: sdkError(503, nil, &smithy.GenericAPIError{Code: "SomethingNew"}),
			status: 503, code: "SomethingNew", retryable: true},
		{name: "unknown code 4xx", err: sdkError(409, nil, &smithy.GenericAPIError{Code: "ConflictException"}),
			status: 409, code: "ConflictException"},
		{name: "status without code", err: sdkError(500, nil, errors.New("boom")),
			status: 500, code: "upstream_error", retryable: true},
		{name: "connection refused", err: &smithy.OperationError{Err: errors.New("dial tcp: connection refused")},
			status: 502, code: "upstream_unreachable", retryable: true},
		{name: "bad response", err: &smithy.OperationError{Err: &smithy.DeserializationError{Err: errors.New("bad json")}},
			status: 502, code: "bad_response"},
		{name: "sdk validation", err: &smithy.OperationError{Err: smithy.InvalidParamsError{Context: "ConverseInput"}},
			status: 400, code: "invalid_request"},
		{name: "deadline", err: fmt.Errorf("send: %w", context.DeadlineExceeded),
			status: 504, code: "timeout", retryable: true},
		{name: "cancelled", err: fmt.Errorf("send: %w", context.Canceled),
			status: 499, code: "canceled"},
		{name: "cancelled ctx wins over a read error", ctx: cancelled, err: errors.New("read: connection reset"),
			status: 499, code: "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			err := Classify(ctx, "m", tt.err, knownCodes)
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Classify(%v) = %T; want *provider.Error", tt.err, err)
			}
			if pe.StatusCode != tt.status || pe.Code != tt.code || pe.Retryable != tt.retryable || pe.RetryAfter != tt.retryIn || pe.Model != "m" {
				t.Errorf("Classify(%v) = {status %d, code %q, retryable %v, retry after %v, model %q}; want {%d, %q, %v, %v, m}",
					tt.err, pe.StatusCode, pe.Code, pe.Retryable, pe.RetryAfter, pe.Model, tt.status, tt.code, tt.retryable, tt.retryIn)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("Classify(%v) lost the cause", tt.err)
			}
		})
	}
	if err := Classify(context.Background(), "m", nil, knownCodes); err != nil {
		t.Errorf("Classify(nil) = %v; want nil", err)
	}
	pe := &provider.Error{Model: "x", StatusCode: 400}
	if got := Classify(context.Background(), "m", fmt.Errorf("wrapped: %w", pe), knownCodes); !errors.Is(got, pe) {
		t.Errorf("Classify(provider error) = %v; want it unchanged", got)
	}
}
