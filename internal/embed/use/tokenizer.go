package use

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxTextBytes bounds the text the tokenizer reads. The model reads only
// the first MaxTokens tokens, and a token is at most 16 UTF-16 code units,
// so 32 KiB holds them with room to spare; beyond it the text is cut (at a
// space where there is one nearby), which bounds the tokenizer's time and
// memory on a huge input.
const maxTextBytes = 32 << 10

// separator replaces spaces and starts every non-empty text: SentencePiece's
// word-boundary mark U+2581.
const separator = 0x2581

// Tokenizer splits text into the ids of the model's SentencePiece
// vocabulary, as the TF.js Universal Sentence Encoder tokenizer does: NFKC,
// spaces replaced by U+2581 (and one prepended), then the most likely
// segmentation under the unigram model (Viterbi) over UTF-16 code units, a
// later candidate winning a tie; a code unit no piece starts with becomes
// the unknown id 0, and runs of unknowns merge into one. A Tokenizer is
// immutable and safe for concurrent use.
type Tokenizer struct {
	score  []float64         // by id
	length []int             // piece length in UTF-16 code units, by id
	edges  map[uint64]uint32 // trie edge: node<<16 | code unit → child node
	piece  []int32           // piece id ending at a trie node, or -1
}

// reservedPieces are the first vocabulary ids (unknown, control and
// user-defined symbols), which the tokenizer never matches in text.
const reservedPieces = 6

// NewTokenizer builds the tokenizer of vocab (pieces by id).
func NewTokenizer(vocab []Piece) *Tokenizer {
	t := &Tokenizer{
		score:  make([]float64, len(vocab)),
		length: make([]int, len(vocab)),
		edges:  make(map[uint64]uint32, 4*len(vocab)),
		piece:  []int32{-1}, // the root
	}
	var units []uint16
	for id, p := range vocab {
		t.score[id] = p.Score
		units = units[:0]
		for _, r := range p.Text {
			units = utf16.AppendRune(units, r)
		}
		t.length[id] = len(units)
		if id < reservedPieces || len(units) == 0 {
			continue
		}
		node := uint32(0)
		for _, u := range units {
			k := uint64(node)<<16 | uint64(u)
			child, ok := t.edges[k]
			if !ok {
				child = uint32(len(t.piece))
				t.piece = append(t.piece, -1)
				t.edges[k] = child
			}
			node = child
		}
		// A piece listed twice keeps its last id, as the TF.js trie does.
		t.piece[node] = int32(id)
	}
	return t
}

// tokScratch holds a tokenizer's working memory, reused between calls.
type tokScratch struct {
	norm  []byte
	units []uint16
	best  []float64
	words []int32
	rev   []int32
}

// Tokenize appends the ids of text to dst, at most MaxTokens of them (the
// first ones: those the model reads), and returns the extended slice.
func (t *Tokenizer) Tokenize(dst []int32, text string) []int32 {
	var sc tokScratch
	return t.tokenize(dst, text, &sc)
}

func (t *Tokenizer) tokenize(dst []int32, text string, sc *tokScratch) []int32 {
	if len(text) > maxTextBytes {
		text = cutText(text)
	}
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	sc.norm = norm.NFKC.AppendString(sc.norm[:0], text)
	if len(sc.norm) == 0 {
		return dst
	}
	units := append(sc.units[:0], separator)
	for i := 0; i < len(sc.norm); {
		r, size := utf8.DecodeRune(sc.norm[i:])
		i += size
		if r == ' ' {
			r = separator
		}
		units = utf16.AppendRune(units, r)
	}
	sc.units = units
	n := len(units)

	// best[e] is the score of the best segmentation of units[:e] and
	// words[e] the id of its last piece. Relaxing the edges start by start
	// visits each end's candidates in the order the TF.js lattice does
	// (ascending start), so ">=" breaks ties the same way; as there, a best
	// of exactly 0 counts as unset.
	best := growF64(sc.best, n+1)
	words := growI32(sc.words, n+1)
	for i := range best {
		best[i], words[i] = 0, 0
	}
	for s := range n {
		node, matched := uint32(0), false
		for e := s; e < n; e++ {
			child, ok := t.edges[uint64(node)<<16|uint64(units[e])]
			if !ok {
				break
			}
			node = child
			if id := t.piece[node]; id >= 0 {
				matched = true
				relax(best, words, s, e+1, id, t.score[id])
			}
		}
		if !matched {
			relax(best, words, s, s+1, 0, 0) // unknown: one code unit, score 0
		}
	}
	sc.best, sc.words = best, words

	// Trace back from the end, merging runs of unknowns.
	rev := sc.rev[:0]
	for e := n; e > 0; {
		id := words[e]
		if !(id == 0 && len(rev) > 0 && rev[len(rev)-1] == 0) {
			rev = append(rev, id)
		}
		e -= t.length[id]
	}
	sc.rev = rev
	for i := len(rev) - 1; i >= 0 && len(rev)-1-i < MaxTokens; i-- {
		dst = append(dst, rev[i])
	}
	return dst
}

func relax(best []float64, words []int32, start, end int, id int32, score float64) {
	s := score + best[start]
	if best[end] == 0 || s >= best[end] {
		best[end], words[end] = s, id
	}
}

// cutText shortens text to at most maxTextBytes, at the last space in the
// final 256 bytes if there is one, else at a rune boundary.
func cutText(text string) string {
	cut := maxTextBytes
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	if sp := strings.LastIndexByte(text[cut-256:cut], ' '); sp >= 0 {
		cut = cut - 256 + sp
	}
	return text[:cut]
}

func growF64(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n, n+n/2)
	}
	return b[:n]
}

func growI32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n, n+n/2)
	}
	return b[:n]
}
