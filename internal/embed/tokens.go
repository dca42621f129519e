package embed

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokens splits text into lower-case tokens the way the GloVe corpus was
// tokenised: words and numbers ("3.14", "1000" from "1,000"), clitics apart
// ("don't" → "do", "n't"; "it's" → "it", "'s"), hyphenated words split, and
// the symbols that change a question's meaning kept as one-character tokens
// (+ - * / = % ^ < > $ #). Other punctuation is dropped.
func Tokens(text string) []string {
	var out []string
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isWordRune(r):
			j := i
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if isWordRune(r2) {
					j += s2
					continue
				}
				// Keep a dot or comma between digits ("3.14", "1,000") and an
				// apostrophe between letters ("don't") inside the token.
				if (r2 == '.' || r2 == ',' || r2 == '\'' || r2 == '’') && j+s2 < len(text) {
					prev, _ := utf8.DecodeLastRuneInString(text[:j])
					next, _ := utf8.DecodeRuneInString(text[j+s2:])
					if (r2 == '.' || r2 == ',') && unicode.IsDigit(prev) && unicode.IsDigit(next) {
						j += s2
						continue
					}
					if (r2 == '\'' || r2 == '’') && unicode.IsLetter(prev) && unicode.IsLetter(next) {
						j += s2
						continue
					}
				}
				break
			}
			out = appendWord(out, text[i:j])
			i = j
		case strings.ContainsRune("+-*/=%^<>$#", r):
			// A hyphen inside a word ("object-oriented") only joins it.
			prev, _ := utf8.DecodeLastRuneInString(text[:i])
			next, _ := utf8.DecodeRuneInString(text[i+size:])
			if r != '-' || !unicode.IsLetter(prev) || !unicode.IsLetter(next) {
				out = append(out, string(r))
			}
			i += size
		default:
			i += size
		}
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// appendWord lower-cases w, removes thousands separators and splits clitics.
func appendWord(out []string, w string) []string {
	w = strings.ToLower(strings.ReplaceAll(w, "’", "'"))
	if strings.ContainsRune(w, ',') {
		w = strings.ReplaceAll(w, ",", "")
	}
	k := strings.IndexByte(w, '\'')
	if k < 0 {
		return append(out, w)
	}
	if strings.HasSuffix(w, "n't") && len(w) > 3 {
		base := w[:len(w)-3]
		switch base {
		case "ca":
			base = "can"
		case "wo":
			base = "will"
		}
		return append(out, base, "n't")
	}
	return append(out, w[:k], w[k:])
}
