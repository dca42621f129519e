// Package sagemaker is the provider adapter for self-hosted models behind a
// SageMaker endpoint (the shadow_self tier), the last hop of the request
// path for them: it sends an llm.Request as an InvokeEndpoint or
// InvokeEndpointWithResponseStream call in the container's payload format
// (SGLang /generate, the OpenAI chat body of vLLM, or the inputs/parameters
// body of text-generation containers), and turns the answer, its streamed
// PayloadParts and its hidden states back into llm types. The container
// contract is in docs/providers.md.
package sagemaker
