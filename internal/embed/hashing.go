package embed

import (
	"context"
	"hash/fnv"
	"math"
)

// Hashing embeds text by feature hashing: each word and each pair of
// adjacent words adds ±log(1+tf) to one of Dim buckets. It knows no
// synonyms, so it is the baseline Local is measured against.
// It is safe for concurrent use.
type Hashing struct {
	dim int
}

var _ Embedder = (*Hashing)(nil)

// NewHashing returns a Hashing embedder with dim buckets; dim <= 0 means 256.
func NewHashing(dim int) *Hashing {
	if dim <= 0 {
		dim = 256
	}
	return &Hashing{dim: dim}
}

// Dim returns the number of buckets.
func (h *Hashing) Dim() int { return h.dim }

// Embed embeds each text. It never fails and does not block.
func (h *Hashing) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, s := range texts {
		toks := Tokens(s)
		tf := make(map[string]int, 2*len(toks))
		for j, t := range toks {
			tf[t]++
			if j > 0 {
				tf[toks[j-1]+" "+t]++
			}
		}
		v := make([]float32, h.dim)
		for f, n := range tf {
			x := fnv.New64a()
			x.Write([]byte(f))
			sum := x.Sum64()
			w := float32(math.Log1p(float64(n)))
			if sum>>63 == 1 {
				w = -w
			}
			v[sum%uint64(h.dim)] += w
		}
		Normalize(v)
		out[i] = v
	}
	return out, nil
}
