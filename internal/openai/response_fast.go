package openai

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeChatResponse decodes an upstream's answer or streamed chunk into
// r, with the result and error json.Unmarshal gives (FuzzDecodeChatResponse
// compares the two). The common shapes (string, integer and null members,
// no "cato" or hidden_states member) are read by walking the document
// instead of through reflection: 25 → 8 allocations per answer and 19 → 5
// per streamed chunk (BenchmarkDecodeChatResponse here,
// BenchmarkProxy and BenchmarkProxyStream in internal/app); anything else
// goes to json.Unmarshal.
//
// Decoding into an r that holds an earlier result gives the same result as
// into a zero r, but reuses the earlier one's storage: its id and model
// when they repeat, its choices' array, and each choice's message and
// content. A stream's decoder decodes every chunk into one r, which saves
// three allocations a chunk (BenchmarkProxyStream in internal/app); a
// caller that keeps anything of an earlier result but its strings must
// copy it first.
func DecodeChatResponse(data []byte, r *ChatResponse) error {
	if !json.Valid(data) || !decodeChatResponseFast(data, r) {
		*r = ChatResponse{}
		return json.Unmarshal(data, r)
	}
	return nil
}

var responseKeys = [...]string{"id", "object", "created", "model", "choices", "usage", "cato"}

// decodeChatResponseFast reports false, leaving r in any state, for
// anything where it could differ from json.Unmarshal: a known key sent
// twice or matching one only ignoring case (or non-ASCII), a value of a
// type the struct decode rejects or converts, a "cato" member.
func decodeChatResponseFast(data []byte, r *ChatResponse) bool {
	old := *r
	*r = ChatResponse{}
	return eachKnown(data, responseKeys[:], nil, func(i int, val []byte) bool {
		switch responseKeys[i] {
		case "id":
			return fastStringOr(val, &r.ID, old.ID)
		case "object":
			return fastString(val, &r.Object)
		case "model":
			return fastStringOr(val, &r.Model, old.Model)
		case "created":
			return fastInt64(val, &r.Created)
		case "choices":
			return fastChoices(val, &r.Choices, old.Choices)
		case "usage":
			return fastUsage(val, &r.Usage)
		default: // cato
			return false
		}
	})
}

// knownKey returns key's index in keys, -1 for a key that matches none
// (the struct decode ignores it), -2 for one that matches only ignoring
// case or holds a non-ASCII byte (encoding/json would match it).
func knownKey(key []byte, keys []string) int {
	for i, k := range keys {
		if string(key) == k {
			return i
		}
	}
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return -2
		}
	}
	for _, k := range keys {
		if strings.EqualFold(string(key), k) {
			return -2
		}
	}
	return -1
}

// eachKnown walks the members of the object v: fn gets the index in keys
// and the value of each known member, other (nil: ignored) the key and
// value of each unknown one. It reports false, as soon as it can, where
// the walk could differ from json.Unmarshal: v is not an object, a known
// key comes twice or matches only ignoring case (knownKey), or fn returns
// false. keys holds at most 8 names.
func eachKnown(v []byte, keys []string, other func(key, val []byte), fn func(i int, val []byte) bool) bool {
	ok := true
	var seen uint8
	walked := eachMember(v, func(key, val []byte) {
		if !ok {
			return
		}
		i := knownKey(key, keys)
		switch {
		case i == -1:
			if other != nil {
				other(key, val)
			}
			return
		case i == -2 || seen&(1<<i) != 0:
			ok = false
			return
		}
		seen |= 1 << i
		ok = fn(i, val)
	})
	return walked && ok
}

// internedStrings are values upstreams send in every answer or chunk,
// returned without allocating.
var internedStrings = [...]string{
	"chat.completion", "chat.completion.chunk", "assistant", "stop", "length", "tool_calls", "content_filter", "",
	"user", "system", "developer", "tool",
}

// fastString decodes a JSON string or null into s. A string with escapes
// or invalid UTF-8 is unquoted by encoding/json.
func fastString(v []byte, s *string) bool { return fastStringOr(v, s, "") }

// fastStringOr is fastString, but gives prev itself, without allocating,
// when the string is prev again.
func fastStringOr(v []byte, s *string, prev string) bool {
	switch {
	case string(v) == "null":
		return true
	case len(v) < 2 || v[0] != '"':
		return false
	}
	end, escaped := stringEnd(v, 0)
	if end != len(v) {
		return false
	}
	body := v[1 : len(v)-1]
	if !utf8.Valid(body) {
		return json.Unmarshal(v, s) == nil
	}
	if escaped {
		if u, ok := unquoteShort(body); ok {
			*s = u
			return true
		}
		return json.Unmarshal(v, s) == nil
	}
	for _, k := range internedStrings {
		if string(body) == k {
			*s = k
			return true
		}
	}
	if string(body) == prev {
		*s = prev
		return true
	}
	*s = string(body)
	return true
}

// unquoteShort unquotes the body of a valid JSON string of valid UTF-8
// whose escapes are all of one character (\" \\ \/ \b \f \n \r \t), as
// encoding/json would, in one allocation where json.Unmarshal takes three
// (an answer's quotes and line breaks: BenchmarkProxy in internal/app). It
// reports false for a \u escape, left to encoding/json.
func unquoteShort(body []byte) (string, bool) {
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i++; i == len(body) {
			return "", false
		}
		switch c = body[i]; c {
		case '"', '\\', '/':
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default:
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// fastInt64 decodes a JSON integer or null into n.
func fastInt64(v []byte, n *int64) bool {
	if string(v) == "null" {
		return true
	}
	x, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return false
	}
	*n = x
	return true
}

func fastInt(v []byte, n *int) bool {
	if string(v) == "null" {
		return true
	}
	x, err := strconv.ParseInt(string(v), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*n = int(x)
	return true
}

// fastChoices decodes the choices array into cs, reusing spare's array
// and its elements' messages when there is room.
func fastChoices(v []byte, cs *[]Choice, spare []Choice) bool {
	if string(v) == "null" {
		*cs = nil
		return true
	}
	n := 0
	if !eachElement(v, func([]byte) { n++ }) {
		return false
	}
	out := spare[:0]
	if out == nil || cap(out) < n {
		out = make([]Choice, 0, n)
	}
	ok := true
	eachElement(v, func(e []byte) {
		if !ok {
			return
		}
		out = out[:len(out)+1]
		c := &out[len(out)-1]
		old := *c
		*c = Choice{}
		ok = fastChoice(e, c, &old)
	})
	*cs = out
	return ok
}

var choiceKeys = [...]string{"index", "message", "delta", "finish_reason", "hidden_states"}

// fastChoice reads a choice as Choice.UnmarshalJSON does: known members
// into the struct, the others (but for null ones) into Extra. It reuses
// old's messages.
func fastChoice(v []byte, c *Choice, old *Choice) bool {
	if string(v) == "null" {
		return true
	}
	extra := func(key, val []byte) {
		if isNull(val) {
			delete(c.Extra, string(key))
			return
		}
		if c.Extra == nil {
			c.Extra = map[string]json.RawMessage{}
		}
		c.Extra[string(key)] = append(json.RawMessage(nil), val...)
	}
	ok := eachKnown(v, choiceKeys[:], extra, func(i int, val []byte) bool {
		switch choiceKeys[i] {
		case "index":
			return fastInt(val, &c.Index)
		case "message":
			return fastWireMessage(val, &c.Message, old.Message)
		case "delta":
			return fastWireMessage(val, &c.Delta, old.Delta)
		case "finish_reason":
			return fastPtr(val, &c.FinishReason, fastString)
		default: // hidden_states: rare, left to encoding/json
			return false
		}
	})
	if len(c.Extra) == 0 {
		c.Extra = nil
	}
	return ok
}

var messageKeys = [...]string{"role", "content", "tool_calls"}

// fastWireMessage decodes a message into *p, into old and its content's
// storage when old is not nil.
func fastWireMessage(v []byte, p **WireMessage, old *WireMessage) bool {
	if string(v) == "null" {
		*p = nil
		return true
	}
	var m *WireMessage
	var content *string
	if old != nil {
		m, content = old, old.Content
		*m = WireMessage{}
	} else {
		// The message and its content share one allocation, where a
		// new *string would take one more.
		h := &struct {
			m       WireMessage
			content string
		}{}
		m, content = &h.m, &h.content
	}
	ok := eachKnown(v, messageKeys[:], nil, func(i int, val []byte) bool {
		switch messageKeys[i] {
		case "role":
			return fastString(val, &m.Role)
		case "content":
			if string(val) == "null" {
				return true
			}
			if content == nil {
				content = new(string)
			}
			m.Content = content
			return fastString(val, content)
		default: // tool_calls
			return json.Unmarshal(val, &m.ToolCalls) == nil
		}
	})
	*p = m
	return ok
}

var (
	usageKeys   = [...]string{"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"}
	detailsKeys = [...]string{"cached_tokens", "reasoning_tokens"}
)

func fastUsage(v []byte, p **Usage) bool {
	if string(v) == "null" {
		*p = nil
		return true
	}
	u := &Usage{}
	ok := eachKnown(v, usageKeys[:], nil, func(i int, val []byte) bool {
		switch usageKeys[i] {
		case "prompt_tokens":
			return fastInt(val, &u.PromptTokens)
		case "completion_tokens":
			return fastInt(val, &u.CompletionTokens)
		case "total_tokens":
			return fastInt(val, &u.TotalTokens)
		case "prompt_tokens_details":
			return fastDetail(val, "cached_tokens", &u.PromptTokensDetails.CachedTokens)
		default:
			return fastDetail(val, "reasoning_tokens", &u.CompletionTokensDetails.ReasoningTokens)
		}
	})
	*p = u
	return ok
}

// fastDetail reads a usage details object (or null) of which Cato keeps
// the one integer member want.
func fastDetail(v []byte, want string, n *int) bool {
	if string(v) == "null" {
		return true
	}
	return eachKnown(v, detailsKeys[:], nil, func(i int, val []byte) bool {
		if detailsKeys[i] != want {
			return true // the other details object's member: ignored
		}
		return fastInt(val, n)
	})
}
