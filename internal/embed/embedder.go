package embed

import (
	"context"
	"math"
)

// Embedder turns texts into vectors of Dim floats, one per text, in order.
// Vectors are L2-normalised, so a dot product is their cosine similarity.
// Implementations must be safe for concurrent use.
type Embedder interface {
	// Embed returns one vector per text. An empty texts gives an empty result.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Dim is the length of every vector Embed returns.
	Dim() int
}

// Normalize scales v to unit length in place; a zero vector stays zero.
// Embedders use it to keep the contract of Embedder.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
