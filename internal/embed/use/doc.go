// Package use is an offline sentence encoder: Universal Sentence Encoder
// lite (two transformer layers, 512-dimensional unit vectors), run in pure
// Go with its weights built into the binary. It implements embed.Embedder
// for the semantic cache, the router's exemplar routes and long-term
// memory, and sits on the request path, so it batches concurrent calls into
// one forward pass and does not allocate in steady state. README.md gives
// the model's provenance, licence, quantisation, parity and speed.
package use
