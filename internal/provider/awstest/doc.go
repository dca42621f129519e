// Package awstest helps tests of the AWS adapters (provider/bedrock,
// provider/sagemaker, provider/nli) stand up local servers that speak the AWS
// protocols: it verifies SigV4 signatures, writes event-stream frames with
// the SDK's own encoder, and points the SDK's credential chain at static
// test keys. Only _test.go files import it.
package awstest
