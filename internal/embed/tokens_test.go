package embed

import (
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"question", "What is Python?", []string{"what", "is", "python"}},
		{"negation clitic", "Why don't cats swim?", []string{"why", "do", "n't", "cats", "swim"}},
		{"can't", "I can't login", []string{"i", "can", "n't", "login"}},
		{"possessive", "What's Python's GIL?", []string{"what", "'s", "python", "'s", "gil"}},
		{"curly apostrophe", "It’s fine", []string{"it", "'s", "fine"}},
		{"arithmetic", "What is 2+2?", []string{"what", "is", "2", "+", "2"}},
		{"decimal and thousands", "Is 3.14 bigger than 1,000?", []string{"is", "3.14", "bigger", "than", "1000"}},
		{"sentence end dot", "Version 3. Next", []string{"version", "3", "next"}},
		{"hyphenated", "state-of-the-art e-mail", []string{"state", "of", "the", "art", "e", "mail"}},
		{"minus", "5-3 and x - y", []string{"5", "-", "3", "and", "x", "-", "y"}},
		{"c++ and c#", "C++ vs C#", []string{"c", "+", "+", "vs", "c", "#"}},
		{"unicode letters", "Qu'est-ce que Zürich?", []string{"qu", "'est", "ce", "que", "zürich"}},
		{"empty", "  ?! ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Tokens(tt.in)); diff != "" {
				t.Errorf("Tokens(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"What is Python?", "don't", "1,000.5", "a'", "'a", "x’y", "\xff\xfe", "C++", "ⅫⅫ'ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range Tokens(s) {
			if tok == "" {
				t.Fatalf("Tokens(%q) has an empty token", s)
			}
			if strings.ContainsFunc(tok, unicode.IsSpace) {
				t.Fatalf("Tokens(%q) has token %q with a space", s, tok)
			}
		}
	})
}
