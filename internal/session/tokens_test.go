package session

import (
	"strings"
	"sync"
	"testing"
)

// tokenizer is shared by the package's tests: loading the tables takes a while.
var tokenizer = sync.OnceValue(func() *Tokenizer {
	tok, err := NewTokenizer()
	if err != nil {
		panic(err)
	}
	return tok
})

func TestTokenizerCount(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		// Reference counts from OpenAI's tiktoken (cl100k_base).
		{"", 0},
		{"hello world", 2},
		{"My name is Alice.", 5},
		{"tiktoken is great!", 6},
		{"<|endoftext|>", 7},
	}
	for _, tt := range tests {
		if got := tokenizer().Count(tt.text); got != tt.want {
			t.Errorf("Count(%q) = %d; want %d", tt.text, got, tt.want)
		}
	}
}

func TestTokenizerTruncate(t *testing.T) {
	tok := tokenizer()
	text := strings.Repeat("alpha beta gamma ", 20)
	for _, max := range []int{0, 1, 5, 59, 60, 1000} {
		got := tok.Truncate(text, max)
		if n := tok.Count(got); n > max {
			t.Errorf("Truncate(_, %d) has %d tokens", max, n)
		}
		if !strings.HasPrefix(text, got) {
			t.Errorf("Truncate(_, %d) = %q is not a prefix", max, got)
		}
	}
	if got := tok.Truncate(text, 1000); got != text {
		t.Errorf("Truncate under the limit changed the text")
	}
}
