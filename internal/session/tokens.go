package session

import (
	"fmt"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// messageOverhead is what one chat message costs beyond its text: OpenAI's
// chat format wraps each in role and separator tokens (3 to 4 of them).
const messageOverhead = 4

// Tokenizer counts tokens offline with the cl100k_base encoding, whose
// tables are compiled into the binary. Claude and self-hosted models
// tokenize differently; cl100k_base is within a few percent of them on
// English text, which is enough for a context budget. A Tokenizer is safe
// for concurrent use.
type Tokenizer struct {
	enc *tiktoken.Tiktoken
}

// NewTokenizer loads the cl100k_base tables (about 100 ms and 20 MB; build
// one per process and share it).
func NewTokenizer() (*Tokenizer, error) {
	// Built by hand rather than with tiktoken.GetEncoding, which reads a
	// package-level loader that downloads the tables by default.
	ranks, err := tiktokenloader.NewOfflineLoader().LoadTiktokenBpe("cl100k_base.tiktoken")
	if err != nil {
		return nil, fmt.Errorf("loading cl100k_base tables: %w", err)
	}
	special := map[string]int{
		tiktoken.ENDOFTEXT:   100257,
		tiktoken.FIM_PREFIX:  100258,
		tiktoken.FIM_MIDDLE:  100259,
		tiktoken.FIM_SUFFIX:  100260,
		tiktoken.ENDOFPROMPT: 100276,
	}
	const pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	bpe, err := tiktoken.NewCoreBPE(ranks, special, pattern)
	if err != nil {
		return nil, fmt.Errorf("building cl100k_base encoder: %w", err)
	}
	set := make(map[string]any, len(special))
	for k := range special {
		set[k] = true
	}
	enc := &tiktoken.Encoding{Name: tiktoken.MODEL_CL100K_BASE, PatStr: pattern, MergeableRanks: ranks, SpecialTokens: special}
	return &Tokenizer{enc: tiktoken.NewTiktoken(bpe, enc, set)}, nil
}

// Count returns the number of tokens of text. Special-token markers in text
// count as ordinary text.
func (t *Tokenizer) Count(text string) int {
	if text == "" {
		return 0
	}
	return len(t.enc.EncodeOrdinary(text))
}

// Truncate returns the longest prefix of text, cut at a token boundary, that
// is at most max tokens.
func (t *Tokenizer) Truncate(text string, max int) string {
	if max <= 0 {
		return ""
	}
	toks := t.enc.EncodeOrdinary(text)
	if len(toks) <= max {
		return text
	}
	return t.enc.Decode(toks[:max])
}
