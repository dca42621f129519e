package bedrock

import (
	"context"
	"errors"
	"net/http"

	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
)

// errorClass says how Cato treats each Bedrock Runtime error code, in
// responses and in event streams: throttling, timeouts and server trouble
// may succeed when retried, a request Bedrock rejected will not.
func errorClass(code string) (awsenv.Class, bool) {
	switch code {
	case "ThrottlingException":
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: "throttled", Retryable: true}, true
	case "ModelNotReadyException":
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: "model_not_ready", Retryable: true}, true
	case "ServiceQuotaExceededException":
		// An account quota, not a rate: waiting a few seconds does not help.
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: "quota_exceeded"}, true
	case "ValidationException":
		return awsenv.Class{StatusCode: http.StatusBadRequest, Code: "invalid_request"}, true
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		return awsenv.Class{StatusCode: http.StatusForbidden, Code: "access_denied"}, true
	case "ResourceNotFoundException":
		return awsenv.Class{StatusCode: http.StatusNotFound, Code: "model_not_found"}, true
	case "ModelTimeoutException":
		return awsenv.Class{StatusCode: http.StatusGatewayTimeout, Code: "timeout", Retryable: true}, true
	case "ServiceUnavailableException":
		return awsenv.Class{StatusCode: http.StatusServiceUnavailable, Code: "unavailable", Retryable: true}, true
	case "InternalServerException":
		return awsenv.Class{StatusCode: http.StatusInternalServerError, Code: "internal_error", Retryable: true}, true
	case "ModelStreamErrorException":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: "model_stream_error", Retryable: true}, true
	case "ModelErrorException":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: "model_error"}, true
	}
	return awsenv.Class{}, false
}

// classify turns an error of a call to model into a *provider.Error.
func classify(ctx context.Context, model string, err error) error {
	var bad *badRequestError
	if errors.As(err, &bad) {
		return &provider.Error{Model: model, StatusCode: http.StatusBadRequest, Code: "invalid_request", Err: err}
	}
	return awsenv.Classify(ctx, model, err, errorClass)
}
