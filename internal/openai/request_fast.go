package openai

import (
	"bytes"
	"encoding/json"
	"strings"
)

// fastRequest is a chat completions body as one struct: one field per entry
// of knownFields, typed as decodeChatRequestSlow decodes it.
type fastRequest struct {
	Model         string        `json:"model"`
	Messages      []wireMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	User                string          `json:"user"`
	SessionID           string          `json:"session_id"`
	Cato                json.RawMessage `json:"cato"`
}

// knownKeys are knownFields in a fixed order, so that a bit per key can
// record which were seen.
var knownKeys = [...]string{
	"model", "messages", "stream", "stream_options", "max_tokens",
	"max_completion_tokens", "temperature", "top_p", "stop", "tools",
	"tool_choice", "user", "session_id", "cato",
}

// decodeChatRequestFast decodes body with one json.Unmarshal into a
// fastRequest. It reports false, and the caller must use
// decodeChatRequestSlow, for anything where the two could differ or that
// the slow path rejects: a body that is not a valid JSON object, a
// top-level key sent twice (a map keeps the last value, a struct merges
// them), a key that is not one of knownKeys but matches one ignoring case
// or holds a non-ASCII byte (encoding/json matches struct fields without
// regard to case, the map decode does not), and every decode or
// validation failure.
func decodeChatRequestFast(body []byte) (*ChatRequest, bool) {
	var w fastRequest
	if json.Unmarshal(body, &w) != nil {
		return nil, false
	}
	r := &ChatRequest{}
	var seen uint32
	ok := true
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
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[string(key)] = append(json.RawMessage(nil), val...)
	}) || !ok {
		return nil, false
	}
	if w.Model == "" || len(w.Messages) == 0 {
		return nil, false
	}
	r.Model = w.Model
	var err error
	if r.Messages, err = convertMessages(w.Messages); err != nil {
		return nil, false
	}
	r.Stream = w.Stream
	r.IncludeUsage = w.StreamOptions.IncludeUsage
	r.MaxTokens = w.MaxTokens
	if w.MaxCompletionTokens != nil {
		r.MaxTokens = *w.MaxCompletionTokens
	}
	if r.MaxTokens < 0 {
		return nil, false
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
