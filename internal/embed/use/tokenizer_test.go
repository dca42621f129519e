package use

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// toyVocab is a small vocabulary for the tokenizer's rules; ids 0-5 are the
// reserved pieces, as in the real one.
func toyVocab(pieces ...Piece) []Piece {
	v := []Piece{{"\uFFFD", 0}, {"<s>", 0}, {"</s>", 0}, {"x1", 0}, {"x2", 0}, {"x3", 0}}
	return append(v, pieces...)
}

// TestTokenizeRules checks the tokenizer's rules on a toy vocabulary; the
// TF.js tokenizer gives the same ids for it.
func TestTokenizeRules(t *testing.T) {
	tok := NewTokenizer(toyVocab(
		Piece{"▁", -5},      // 6
		Piece{"▁a", -1},     // 7
		Piece{"b", -1},      // 8
		Piece{"▁ab", -2},    // 9: ties with ▁a + b
		Piece{"c", -1},      // 10
		Piece{"c", -3},      // 11: listed twice, the later id wins
		Piece{"▁fi", -1},    // 12
		Piece{"<s>", -1},    // 13
		Piece{"▁d", -1},     // 14
		Piece{"d", -2},      // 15
		Piece{"▁abcd", -10}, // 16: worse than its parts
	))
	tests := []struct {
		name, text string
		want       []int32
	}{
		{"empty", "", nil},
		{"a space is a separator", " ", []int32{6, 6}},
		{"a tie goes to the later start", "ab", []int32{7, 8}},
		{"a duplicate keeps its last id", "c", []int32{6, 11}},
		{"best path", "abcd", []int32{7, 8, 11, 15}},
		{"NFKC first", "ﬁ", []int32{12}},
		{"unknowns merge", "a🙂🙂z", []int32{7, 0}},
		{"unknowns between pieces", "d??d", []int32{14, 0, 15}},
		{"reserved pieces are not matched", "x1", []int32{6, 0}},
		// "▁<s>": "<s>" is a piece, so no unknown starts at "<"; then "s"
		// (position 2) ends no candidate and its best score stays 0, which
		// beats every real path, so "s" and ">" become unknowns.
		{"an unreached position scores 0", "<s>", []int32{6, 0}},
		{"no-break space is a space", "a\u00a0d", []int32{7, 14}},
		{"tab is not a space", "a\td", []int32{7, 0, 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Tokenize(nil, tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("Tokenize(%q) = %v; want %v", tt.text, got, tt.want)
			}
		})
	}
}

// TestTokenizeLimits checks that only the first MaxTokens ids come back and
// that a text past maxTextBytes is cut before it is read.
func TestTokenizeLimits(t *testing.T) {
	tok := builtIn(t).Tokenizer()
	long := strings.Repeat("word ", 200)
	got := tok.Tokenize(nil, long)
	if len(got) != MaxTokens {
		t.Fatalf("Tokenize of %d words: %d ids; want %d", 200, len(got), MaxTokens)
	}
	huge := strings.Repeat("word ", 100_000) // 500 KB
	if h := tok.Tokenize(nil, huge); !slices.Equal(h, got) {
		t.Errorf("Tokenize of 500 KB of words = %v…; want the same ids as 200 words", h[:8])
	}
	cut := cutText(huge)
	if len(cut) > maxTextBytes || len(cut) < maxTextBytes-256 || !strings.HasSuffix(cut, "word") {
		t.Errorf("cutText kept %d bytes ending %q; want at most %d, cut at a space", len(cut), cut[len(cut)-8:], maxTextBytes)
	}
	runes := strings.Repeat("é", maxTextBytes) // no space to cut at
	if c := cutText(runes); !utf8.ValidString(c) || len(c) > maxTextBytes {
		t.Errorf("cutText of %d bytes without spaces: %d bytes, valid UTF-8 %v", len(runes), len(c), utf8.ValidString(c))
	}
}

func TestTokenizeAppends(t *testing.T) {
	tok := builtIn(t).Tokenizer()
	a := tok.Tokenize(nil, "What is Kafka?")
	b := tok.Tokenize([]int32{-1}, "What is Kafka?")
	if b[0] != -1 || !slices.Equal(b[1:], a) {
		t.Errorf("Tokenize([-1], text) = %v; want -1 then %v", b, a)
	}
}

// FuzzTokenize checks that any text tokenizes without panicking into at
// most MaxTokens ids of the vocabulary, never a reserved one, never two
// unknowns in a row, and the same ids every time.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", " ", "What is Kafka?", "café “quoted” 😀 ＡＢＣ", "a\u0301\u0301", "\xff\xfe", "::://:)", "ﷺ ﷻ", strings.Repeat("ab ", 100), "\u2581\u2581"} {
		f.Add(s)
	}
	tok := builtIn(f).Tokenizer()
	var sc tokScratch
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.tokenize(nil, text, &sc)
		if len(ids) > MaxTokens {
			t.Fatalf("%d ids; want at most %d", len(ids), MaxTokens)
		}
		for i, id := range ids {
			if id < 0 || id >= vocabSize || (id > 0 && id < reservedPieces) {
				t.Fatalf("id %d at %d is not a piece the tokenizer may return", id, i)
			}
			if id == 0 && i > 0 && ids[i-1] == 0 {
				t.Fatalf("two unknowns in a row at %d: %v", i, ids)
			}
		}
		if again := tok.Tokenize(nil, text); !slices.Equal(again, ids) {
			t.Fatalf("second Tokenize = %v; first %v", again, ids)
		}
	})
}

func BenchmarkTokenize(b *testing.B) {
	tok := builtIn(b).Tokenizer()
	var sc tokScratch
	ids := make([]int32, 0, MaxTokens)
	b.ReportAllocs()
	for range b.N {
		ids = tok.tokenize(ids[:0], "How do I undo the last git commit but keep all my changes?", &sc)
	}
}
