// Package vectorindex is the in-process approximate-nearest-neighbour index
// behind the semantic cache (one Index per cache scope) and other embedding
// lookups: cosine similarity over string IDs, exact while small, an HNSW
// graph (github.com/coder/hnsw) when large. It imports nothing of Cato.
package vectorindex
