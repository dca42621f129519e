// Package provider defines how Cato talks to a model endpoint: the Provider
// contract every adapter (provider/bedrock, provider/sagemaker,
// provider/openaicompat, provider/simulated) implements, the optional
// capabilities an adapter may add, and Error, the one error type that crosses
// the boundary between an adapter and the rest of the request path.
package provider
