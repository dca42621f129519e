package embed

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// gloveFile holds the 50,000 most frequent GloVe words, quantised; see
// wordvec/README.md for its provenance, licence and format.
//
//go:embed wordvec/glove50k.bin
var gloveFile []byte

// wordTable is a parsed word-vector file. Vectors stay int8 in the embedded
// bytes, so loading costs only the word index. It is immutable once built
// and safe for concurrent use.
type wordTable struct {
	dim    int
	index  map[string]int // word → rank (0 = most frequent)
	common []float32      // the common component, unit length
	scales []float32      // per-word dequantisation scale
	vecs   []byte         // len(index)·dim int8 values
}

const wordFileMagic = "CATOWV1\n"

// parseWordTable decodes the format written by glovegen.
func parseWordTable(b []byte) (*wordTable, error) {
	le := binary.LittleEndian
	if len(b) < len(wordFileMagic)+8 || string(b[:len(wordFileMagic)]) != wordFileMagic {
		return nil, errors.New("not a word-vector file")
	}
	p := len(wordFileMagic)
	n := int(le.Uint32(b[p:]))
	dim := int(le.Uint32(b[p+4:]))
	p += 8
	if dim <= 0 || dim > 4096 || n <= 0 || n > 10_000_000 {
		return nil, fmt.Errorf("implausible word-vector header: %d words × %d dims", n, dim)
	}
	if len(b) < p+4*dim {
		return nil, errors.New("word-vector file truncated in its header")
	}
	t := &wordTable{dim: dim, index: make(map[string]int, n), common: make([]float32, dim), scales: make([]float32, n)}
	for i := range dim {
		t.common[i] = math.Float32frombits(le.Uint32(b[p:]))
		p += 4
	}
	for r := range n {
		if p >= len(b) {
			return nil, errors.New("word-vector file truncated in its words")
		}
		l := int(b[p])
		if p+1+l > len(b) {
			return nil, errors.New("word-vector file truncated in its words")
		}
		w := string(b[p+1 : p+1+l])
		if _, dup := t.index[w]; !dup {
			t.index[w] = r
		}
		p += 1 + l
	}
	if len(b)-p != n*(4+dim) {
		return nil, fmt.Errorf("word-vector file: %d bytes of vectors, want %d", len(b)-p, n*(4+dim))
	}
	for r := range n {
		t.scales[r] = math.Float32frombits(le.Uint32(b[p:]))
		p += 4
	}
	t.vecs = b[p:]
	return t, nil
}

// addTo adds w times the vector of the word of rank r to dst.
func (t *wordTable) addTo(dst []float32, r int, w float32) {
	s := t.scales[r] * w
	row := t.vecs[r*t.dim : (r+1)*t.dim]
	for i, q := range row {
		dst[i] += float32(int8(q)) * s
	}
}
