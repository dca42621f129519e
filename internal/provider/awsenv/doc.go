// Package awsenv prepares what the AWS adapters (provider/bedrock,
// provider/sagemaker, provider/nli) share on the way to a model: the SDK
// configuration (standard credential chain, region, Cato's HTTP client, SDK
// retries off) and the translation of SDK errors into provider.Error.
package awsenv
