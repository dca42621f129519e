// Package openaicompat is the provider for OpenAI-compatible servers
// (vLLM, SGLang, LiteLLM, Ollama, OpenAI itself): chat completions over
// HTTP, streamed as server-sent events, with fields Cato does not interpret
// passed through unchanged and SGLang-style hidden states read back.
package openaicompat
