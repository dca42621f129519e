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
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: provider.CodeThrottled, Retryable: true}, true
	case "ModelNotReadyException":
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: provider.CodeModelNotReady, Retryable: true}, true
	case "ServiceQuotaExceededException":
		// An account quota, not a rate: waiting a few seconds does not help.
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: provider.CodeQuotaExceeded}, true
	case "ValidationException":
		return awsenv.Class{StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest}, true
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		return awsenv.Class{StatusCode: http.StatusForbidden, Code: provider.CodeAccessDenied}, true
	case "ResourceNotFoundException":
		return awsenv.Class{StatusCode: http.StatusNotFound, Code: provider.CodeModelNotFound}, true
	case "ModelTimeoutException":
		return awsenv.Class{StatusCode: http.StatusGatewayTimeout, Code: provider.CodeTimeout, Retryable: true}, true
	case "ServiceUnavailableException":
		return awsenv.Class{StatusCode: http.StatusServiceUnavailable, Code: provider.CodeUnavailable, Retryable: true}, true
	case "InternalServerException":
		return awsenv.Class{StatusCode: http.StatusInternalServerError, Code: provider.CodeInternalError, Retryable: true}, true
	case "ModelStreamErrorException":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: provider.CodeModelStreamError, Retryable: true}, true
	case "ModelErrorException":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: provider.CodeModelError}, true
	}
	return awsenv.Class{}, false
}

// classify turns an error of a call to model into a *provider.Error.
func classify(ctx context.Context, model string, err error) error {
	var bad *badRequestError
	if errors.As(err, &bad) {
		return &provider.Error{Model: model, StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest, Param: bad.param, Err: err}
	}
	return awsenv.Classify(ctx, model, err, errorClass)
}
