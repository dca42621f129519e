package cachetest

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
)

// WordEmbedder embeds a text as the normalised sum of one pseudo-random
// direction per word: the same text always gets the same vector, as with a
// real embedder, without a model. Replica tests of the backends use it.
type WordEmbedder struct{}

// Embed implements cache.Embedder.
func (WordEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, text := range texts {
		v := make([]float32, 16)
		for _, w := range strings.Fields(strings.ToLower(text)) {
			h := fnv.New64a()
			h.Write([]byte(strings.Trim(w, "?.,!")))
			x := h.Sum64()
			for d := range v {
				v[d] += float32(int64(x>>(d*4)&15) - 8)
			}
		}
		var n float64
		for _, f := range v {
			n += float64(f * f)
		}
		for d := range v {
			v[d] /= float32(math.Sqrt(n))
		}
		out[i] = v
	}
	return out, nil
}
