package openai

import (
	"strconv"
	"unicode/utf8"

	"github.com/cato-gateway/cato/internal/llm"
)

// AppendChunk appends to dst the JSON of NewChunk(id, created, model, c),
// byte for byte what json.Marshal writes, for the common chunk that
// carries only a role and text: no tool calls, finish reason, usage,
// hidden states or extra fields, and a role or some text. It reports false,
// leaving dst as it was, for any other chunk; the caller then marshals
// NewChunk's value. It spares streams a reflective encode per token.
func AppendChunk(dst []byte, id string, created int64, model string, c *llm.Chunk) ([]byte, bool) {
	if len(c.ToolCalls) > 0 || c.FinishReason != "" || len(c.Extra) > 0 || c.Usage != nil || c.HiddenStates != nil ||
		(c.Role == "" && c.Content == "") {
		return dst, false
	}
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, id)
	dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
	dst = strconv.AppendInt(dst, created, 10)
	dst = append(dst, `,"model":`...)
	dst = appendJSONString(dst, model)
	dst = append(dst, `,"choices":[{"index":`...)
	dst = strconv.AppendInt(dst, int64(c.Index), 10)
	dst = append(dst, `,"delta":{`...)
	if c.Role != "" {
		dst = append(dst, `"role":`...)
		dst = appendJSONString(dst, c.Role)
		dst = append(dst, ',')
	}
	dst = append(dst, `"content":`...)
	dst = appendJSONString(dst, c.Content)
	dst = append(dst, `},"finish_reason":null}]}`...)
	return dst, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes strings by
// default: HTML-sensitive characters (<, >, &) and U+2028/U+2029 escaped,
// invalid UTF-8 replaced by \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
