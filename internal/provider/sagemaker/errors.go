package sagemaker

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awsenv"
)

// errorClass says how Cato treats each SageMaker Runtime error code, in
// responses and in event streams.
func errorClass(code string) (awsenv.Class, bool) {
	switch code {
	case "ValidationError", "ValidationException":
		return awsenv.Class{StatusCode: http.StatusBadRequest, Code: provider.CodeInvalidRequest}, true
	case "ThrottlingException":
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: provider.CodeThrottled, Retryable: true}, true
	case "ModelNotReadyException":
		return awsenv.Class{StatusCode: http.StatusTooManyRequests, Code: provider.CodeModelNotReady, Retryable: true}, true
	case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException":
		return awsenv.Class{StatusCode: http.StatusForbidden, Code: provider.CodeAccessDenied}, true
	case "ServiceUnavailable":
		return awsenv.Class{StatusCode: http.StatusServiceUnavailable, Code: provider.CodeUnavailable, Retryable: true}, true
	case "InternalFailure":
		return awsenv.Class{StatusCode: http.StatusInternalServerError, Code: provider.CodeInternalError, Retryable: true}, true
	case "InternalDependencyException":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: provider.CodeInternalDependency, Retryable: true}, true
	case "ModelStreamError":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: provider.CodeModelStreamError, Retryable: true}, true
	case "InternalStreamFailure":
		return awsenv.Class{StatusCode: http.StatusBadGateway, Code: provider.CodeInternalStream, Retryable: true}, true
	}
	return awsenv.Class{}, false
}

// Classify turns an error of a SageMaker Runtime call for model into a
// *provider.Error. A ModelError (the container answered with an error)
// takes the container's own status; throttling, server trouble and broken
// streams are retryable. provider/nli uses it too.
func Classify(ctx context.Context, model string, err error) error {
	var me *types.ModelError
	if errors.As(err, &me) && ctx.Err() == nil {
		status := int(aws.ToInt32(me.OriginalStatusCode))
		if status < 400 {
			status = http.StatusBadGateway
		}
		return &provider.Error{Model: model, StatusCode: status, Code: provider.CodeModelError, Retryable: provider.StatusRetryable(status), Err: err}
	}
	return awsenv.Classify(ctx, model, err, errorClass)
}

// badAnswer is a container answer Cato cannot read.
func badAnswer(model string, err error) error {
	return &provider.Error{Model: model, StatusCode: http.StatusBadGateway, Code: provider.CodeBadResponse, Err: err}
}
