// Package bedrock is the provider adapter for Claude on Amazon Bedrock, the
// last hop of the request path for the bedrock_* tiers: it translates an
// llm.Request into a Converse / ConverseStream call, or an InvokeModel call
// with the Anthropic Messages body, sends it with the AWS SDK for Go v2, and
// translates the answer, streamed or not, and Bedrock's errors back.
package bedrock
