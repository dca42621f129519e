package openai

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// fastRequest is a chat completions body as one struct: one field per entry
// of ownFields and readFields, typed as decodeChatRequestSlow decodes it.
type fastRequest struct {
	Model         string        `json:"model"`
	Messages      []wireMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	N                   *int            `json:"n"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	User                string          `json:"user"`
	SessionID           string          `json:"session_id"`
	Cato                json.RawMessage `json:"cato"`
}

// knownKeys are ownFields, then readFields, in a fixed order, so that a
// bit per key can record which were seen.
var knownKeys = [...]string{
	"model", "messages", "stream", "stream_options", "session_id", "cato",
	"max_tokens", "max_completion_tokens", "n", "temperature", "top_p", "stop",
	"tools", "tool_choice", "user",
}

// firstReadKey is the index in knownKeys of the first of readFields.
const firstReadKey = 6

// Indexes in knownKeys of the members whose raw value is kept.
const (
	messagesKey      = 1
	streamOptionsKey = 3
)

// decodeChatRequestFast decodes body into a fastRequest by walking it, as
// json.Unmarshal would decode it (decodeFastMember), which takes a third of
// the allocations of the reflective decode (BenchmarkProxy in
// internal/app). It reports false, and the caller must use
// decodeChatRequestSlow, for anything where the two could differ or that
// the slow path rejects: a body that is not a valid JSON object, a
// top-level key sent twice (a map keeps the last value, a struct merges
// them), a key that is not one of knownKeys but matches one ignoring case
// or holds a non-ASCII byte (encoding/json matches struct fields without
// regard to case, the map decode does not), and every decode or
// validation failure.
func decodeChatRequestFast(body []byte) (*ChatRequest, bool) {
	var w fastRequest
	if !json.Valid(body) {
		return nil, false
	}
	r := &ChatRequest{}
	var seen uint32
	var msgs, streamOpts []byte
	ok := true
	// Values are kept as slices of body (the request aliases it), capped
	// so that no append can write into body.
	keep := func(key string, val []byte) {
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[key] = val[:len(val):len(val)]
	}
	if !eachMember(body, func(key, val []byte) {
		if !ok {
			return
		}
		for i, k := range knownKeys {
			if string(key) == k {
				if seen&(1<<i) != 0 {
					ok = false
				}
				seen |= 1 << i
				if !w.decodeMember(i, val) {
					ok = false
					return
				}
				switch {
				case i == messagesKey:
					msgs = val
				case i == streamOptionsKey:
					streamOpts = val[:len(val):len(val)]
				case i >= firstReadKey:
					keep(k, val)
				}
				return
			}
		}
		for _, c := range key {
			if c >= 0x80 {
				ok = false
				return
			}
		}
		for _, k := range knownKeys {
			if strings.EqualFold(string(key), k) {
				ok = false
				return
			}
		}
		if _, dup := r.Extra[string(key)]; dup {
			ok = false
			return
		}
		keep(string(key), val)
	}) || !ok {
		return nil, false
	}
	if w.Model == "" || len(w.Messages) == 0 {
		return nil, false
	}
	r.Model = w.Model
	var err error
	if r.Messages, err = convertMessages(w.Messages, msgs); err != nil {
		return nil, false
	}
	r.Stream = w.Stream
	r.IncludeUsage = w.StreamOptions.IncludeUsage
	if !isNull(streamOpts) {
		r.StreamOptions = streamOpts
	}
	r.MaxTokens, r.MaxCompletionTokens = w.MaxTokens, w.MaxCompletionTokens
	if r.MaxTokens < 0 || r.MaxCompletionTokens < 0 {
		return nil, false
	}
	if w.N != nil {
		if *w.N < 1 {
			return nil, false
		}
		r.N = *w.N
	}
	if w.Temperature != nil && (*w.Temperature < 0 || *w.Temperature > 2) {
		return nil, false
	}
	r.Temperature = w.Temperature
	if w.TopP != nil && (*w.TopP < 0 || *w.TopP > 1) {
		return nil, false
	}
	r.TopP = w.TopP
	if !isNull(w.Stop) {
		var one string
		if json.Unmarshal(w.Stop, &one) == nil {
			r.Stop = []string{one}
		} else if json.Unmarshal(w.Stop, &r.Stop) != nil {
			return nil, false
		}
	}
	if r.Tools, err = decodeTools(w.Tools); err != nil {
		return nil, false
	}
	if !isNull(w.ToolChoice) {
		r.ToolChoice = w.ToolChoice
	}
	r.User = w.User
	r.SessionID = w.SessionID
	if !isNull(w.Cato) {
		dec := json.NewDecoder(bytes.NewReader(w.Cato))
		dec.DisallowUnknownFields()
		if dec.Decode(&r.Cato) != nil {
			return nil, false
		}
	}
	r.HiddenStates = r.Cato.HiddenStates
	return r, true
}

// decodeMember decodes the value of knownKeys[i] into w as json.Unmarshal
// would, or reports false where it might not: a value of another type, a
// member of a nested object sent twice or matching a field only ignoring
// case. Raw values alias body, as the request does. body must be valid
// JSON.
func (w *fastRequest) decodeMember(i int, val []byte) bool {
	switch knownKeys[i] {
	case "model":
		return fastString(val, &w.Model)
	case "messages":
		return fastWireMessages(val, &w.Messages)
	case "stream":
		return fastBool(val, &w.Stream)
	case "stream_options":
		if isNull(val) {
			return true
		}
		return eachKnown(val, streamOptionKeys[:], nil, func(_ int, v []byte) bool {
			return fastBool(v, &w.StreamOptions.IncludeUsage)
		})
	case "max_tokens":
		return fastInt(val, &w.MaxTokens)
	case "max_completion_tokens":
		return fastInt(val, &w.MaxCompletionTokens)
	case "n":
		return fastPtr(val, &w.N, fastInt)
	case "temperature":
		return fastPtr(val, &w.Temperature, fastFloat)
	case "top_p":
		return fastPtr(val, &w.TopP, fastFloat)
	case "stop":
		w.Stop = rawOf(val)
	case "tools":
		w.Tools = rawOf(val)
	case "tool_choice":
		w.ToolChoice = rawOf(val)
	case "user":
		return fastString(val, &w.User)
	case "session_id":
		return fastString(val, &w.SessionID)
	case "cato":
		w.Cato = rawOf(val)
	default:
		return false
	}
	return true
}

// rawOf is a raw value as json.RawMessage decodes it, aliasing val, capped
// so that no append can write into it.
func rawOf(val []byte) json.RawMessage { return val[:len(val):len(val)] }

var streamOptionKeys = [...]string{"include_usage"}

var wireMessageKeys = [...]string{"role", "content", "name", "tool_calls", "tool_call_id"}

// fastWireMessages decodes the messages array as json.Unmarshal would.
func fastWireMessages(v []byte, ms *[]wireMessage) bool {
	if isNull(v) {
		*ms = nil
		return true
	}
	n := 0
	if !eachElement(v, func([]byte) { n++ }) {
		return false
	}
	out := make([]wireMessage, n)
	i, ok := 0, true
	eachElement(v, func(e []byte) {
		m := &out[i]
		i++
		if !ok || isNull(e) {
			return
		}
		ok = eachKnown(e, wireMessageKeys[:], nil, func(k int, val []byte) bool {
			switch wireMessageKeys[k] {
			case "role":
				return fastString(val, &m.Role)
			case "content":
				m.Content = rawOf(val)
				return true
			case "name":
				return fastString(val, &m.Name)
			case "tool_calls":
				return json.Unmarshal(val, &m.ToolCalls) == nil
			default: // tool_call_id
				return fastString(val, &m.ToolCallID)
			}
		})
	})
	*ms = out
	return ok
}

// fastBool decodes a JSON boolean or null into b.
func fastBool(v []byte, b *bool) bool {
	switch string(v) {
	case "true":
		*b = true
	case "false":
		*b = false
	case "null":
	default:
		return false
	}
	return true
}

// fastPtr decodes v with dec into a new *T, null into nil.
func fastPtr[T any](v []byte, p **T, dec func([]byte, *T) bool) bool {
	if string(v) == "null" {
		*p = nil
		return true
	}
	var x T
	if !dec(v, &x) {
		return false
	}
	*p = &x
	return true
}

// fastFloat decodes a JSON number.
func fastFloat(v []byte, f *float64) bool {
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return false
	}
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return false
	}
	*f = x
	return true
}
