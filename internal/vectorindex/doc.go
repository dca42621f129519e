// Package vectorindex is the in-process approximate-nearest-neighbour index
// behind the semantic cache (one Index per cache scope) and other embedding
// lookups: cosine similarity over string IDs, exact while small, and an HNSW
// graph of its own (hnsw.go) when large. It imports nothing of Cato.
package vectorindex
