package awsenv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cato-gateway/cato/internal/provider"
)

// Class is how Cato treats one AWS error code.
type Class struct {
	// StatusCode is the HTTP status Cato answers with.
	StatusCode int
	// Code is Cato's short reason (provider.CodeThrottled…).
	Code provider.Code
	// Retryable says whether the same request may succeed if sent again.
	Retryable bool
}

// Classify turns an error of an SDK call into a *provider.Error for model.
// known looks up the service's error codes (ThrottlingException…); codes it
// does not know are classified by their HTTP status. Context errors keep
// their identity (errors.Is(err, context.Canceled) still holds): a
// cancelled call is 499 and not retryable, a deadline is a retryable 504.
// A call whose ctx is done counts as cancelled or timed out whatever the
// SDK reported. Errors without an AWS code (refused connections, resets)
// are a retryable 502. Classify returns nil for a nil err and leaves a
// *provider.Error as is.
func Classify(ctx context.Context, model string, err error, known func(code string) (Class, bool)) error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	e := &provider.Error{Model: model, Err: err}
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	hasResp := errors.As(err, &respErr)
	switch {
	case errors.Is(err, context.Canceled):
		e.StatusCode, e.Code = 499, provider.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		e.StatusCode, e.Code, e.Retryable = http.StatusGatewayTimeout, provider.CodeTimeout, true
	case errors.As(err, &apiErr):
		if c, ok := known(apiErr.ErrorCode()); ok {
			e.StatusCode, e.Code, e.Retryable = c.StatusCode, c.Code, c.Retryable
			break
		}
		status := http.StatusBadGateway
		if hasResp && respErr.HTTPStatusCode() != 0 {
			status = respErr.HTTPStatusCode()
		}
		e.StatusCode, e.Code, e.Retryable = status, provider.Code(apiErr.ErrorCode()), provider.StatusRetryable(status)
	case hasResp && respErr.HTTPStatusCode() >= 400:
		status := respErr.HTTPStatusCode()
		e.StatusCode, e.Code, e.Retryable = status, provider.CodeUpstreamError, provider.StatusRetryable(status)
	case errors.As(err, new(smithy.InvalidParamsError)), errors.As(err, new(*smithy.InvalidParamsError)):
		// The SDK refused to send the request: it breaks the API's rules.
		e.StatusCode, e.Code = http.StatusBadRequest, provider.CodeInvalidRequest
	default:
		var de *smithy.DeserializationError
		if errors.As(err, &de) {
			e.StatusCode, e.Code = http.StatusBadGateway, provider.CodeBadResponse
			break
		}
		e.StatusCode, e.Code, e.Retryable = http.StatusBadGateway, provider.CodeUpstreamUnreachable, true
	}
	if hasResp && respErr.Response != nil {
		e.RetryAfter = provider.ParseRetryAfter(respErr.Response.Header.Get("Retry-After"), time.Now())
	}
	return e
}
