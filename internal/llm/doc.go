// Package llm is the shared vocabulary of a chat call: the request Cato sends
// to a model, the answer it gets back, token usage, hidden states and the
// chunks of a streamed answer. Every adapter translates its wire format to and
// from these types; nothing here does I/O.
package llm
