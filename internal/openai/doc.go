// Package openai is the OpenAI Chat Completions wire format: decoding client
// requests strictly (with clear errors and unknown fields kept for
// pass-through), encoding responses, streamed chunks and errors, and reading
// and writing server-sent events. The api package uses it facing clients and
// provider/openaicompat facing OpenAI-compatible upstreams.
package openai
