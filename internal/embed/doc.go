// Package embed turns text into vectors for the semantic cache, the router's
// exemplar routes and long-term memory; it sits between those consumers and
// the embedding model. Embedder is the one shared contract; Local (offline
// GloVe word vectors with SIF weighting, the default), Hashing (a baseline)
// and OpenAI (an OpenAI-compatible /v1/embeddings) implement it, as does
// the Bedrock Titan adapter in embed/titan; Cached wraps any of them with
// an LRU.
package embed
