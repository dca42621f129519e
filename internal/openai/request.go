package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cato-gateway/cato/internal/llm"
)

// ChatRequest is a decoded /v1/chat/completions request.
type ChatRequest struct {
	llm.Request
	// Stream asks for server-sent events.
	Stream bool
	// SessionID is Cato's session_id extra.
	SessionID string
	// Cato holds Cato's own options.
	Cato Options
}

// Options are Cato's extras in the request's "cato" object.
type Options struct {
	Domain       string `json:"domain,omitempty"`
	Cache        *bool  `json:"cache,omitempty"`
	HiddenStates bool   `json:"return_hidden_states,omitempty"`
	Memory       *bool  `json:"memory,omitempty"`
}

// RequestError is a request that cannot be served as sent. Param names the
// offending field, as OpenAI's error object does.
type RequestError struct {
	Param   string
	Message string
}

func (e *RequestError) Error() string {
	if e.Param == "" {
		return e.Message
	}
	return e.Param + ": " + e.Message
}

func badField(param, format string, args ...any) error {
	return &RequestError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// ownFields are the request members Cato owns: it writes them itself for
// an upstream (model, messages, stream, stream_options) or keeps them
// (session_id, cato). Every other member is kept in Request.Extra exactly
// as sent and reaches OpenAI-compatible upstreams unchanged; readFields
// are those of them Cato also reads.
var ownFields = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true,
	"session_id": true, "cato": true,
}

// readFields are the members Cato reads but passes on as sent.
var readFields = map[string]bool{
	"max_tokens": true, "max_completion_tokens": true, "n": true, "temperature": true,
	"top_p": true, "stop": true, "tools": true, "tool_choice": true, "user": true,
}

// DecodeChatRequest decodes and validates a chat completions request body.
// Every error it returns is a *RequestError. The request may alias body
// (Extra's values, each message's Raw): body must not change while the
// request is in use.
//
// A body whose top-level keys are each sent once, exactly as spelled in
// ownFields and readFields or unlike any of them, and that decodes without error, takes
// one decode into a struct (decodeChatRequestFast); every other body, and
// every failure, takes the member-by-member decode below, which alone
// writes the errors.
func DecodeChatRequest(body []byte) (*ChatRequest, error) {
	if r, ok := decodeChatRequestFast(body); ok {
		return r, nil
	}
	return decodeChatRequestSlow(body)
}

// decodeChatRequestSlow decodes body into a map of members, then each
// member on its own.
func decodeChatRequestSlow(body []byte) (*ChatRequest, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &RequestError{Message: "the request body is not a JSON object: " + jsonErrText(err)}
	}
	if raw == nil {
		return nil, &RequestError{Message: "the request body must be a JSON object"}
	}
	r := &ChatRequest{}
	if err := field(raw, "model", &r.Model); err != nil {
		return nil, err
	}
	if r.Model == "" {
		return nil, badField("model", "is required (a configured model name, or \"auto\" to let Cato route)")
	}
	msgs, ok := raw["messages"]
	if !ok || isNull(msgs) {
		return nil, badField("messages", "is required")
	}
	var err error
	if r.Messages, err = decodeMessages(msgs); err != nil {
		return nil, err
	}
	if err := field(raw, "stream", &r.Stream); err != nil {
		return nil, err
	}
	var so struct {
		IncludeUsage bool `json:"include_usage"`
	}
	if err := field(raw, "stream_options", &so); err != nil {
		return nil, err
	}
	r.IncludeUsage = so.IncludeUsage
	if v := raw["stream_options"]; !isNull(v) {
		r.StreamOptions = v
	}
	if err := field(raw, "max_tokens", &r.MaxTokens); err != nil {
		return nil, err
	}
	if r.MaxTokens < 0 {
		return nil, badField("max_tokens", "must not be negative")
	}
	if err := field(raw, "max_completion_tokens", &r.MaxCompletionTokens); err != nil {
		return nil, err
	}
	if r.MaxCompletionTokens < 0 {
		return nil, badField("max_completion_tokens", "must not be negative")
	}
	var n *int
	if err := field(raw, "n", &n); err != nil {
		return nil, err
	}
	if n != nil {
		if *n < 1 {
			return nil, badField("n", "must be at least 1")
		}
		r.N = *n
	}
	if err := field(raw, "temperature", &r.Temperature); err != nil {
		return nil, err
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return nil, badField("temperature", "%v is not between 0 and 2", *r.Temperature)
	}
	if err := field(raw, "top_p", &r.TopP); err != nil {
		return nil, err
	}
	if r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1) {
		return nil, badField("top_p", "%v is not between 0 and 1", *r.TopP)
	}
	if s, ok := raw["stop"]; ok && !isNull(s) {
		var one string
		if json.Unmarshal(s, &one) == nil {
			r.Stop = []string{one}
		} else if err := field(raw, "stop", &r.Stop); err != nil {
			return nil, badField("stop", "must be a string or an array of strings")
		}
	}
	if r.Tools, err = decodeTools(raw["tools"]); err != nil {
		return nil, err
	}
	if tc, ok := raw["tool_choice"]; ok && !isNull(tc) {
		r.ToolChoice = tc
	}
	if err := field(raw, "user", &r.User); err != nil {
		return nil, err
	}
	if err := field(raw, "session_id", &r.SessionID); err != nil {
		return nil, err
	}
	if c, ok := raw["cato"]; ok && !isNull(c) {
		dec := json.NewDecoder(bytes.NewReader(c))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.Cato); err != nil {
			return nil, badField("cato", "%s (known: domain, cache, return_hidden_states, memory)", jsonErrText(err))
		}
	}
	r.HiddenStates = r.Cato.HiddenStates
	for k, v := range raw {
		if !ownFields[k] {
			if r.Extra == nil {
				r.Extra = make(map[string]json.RawMessage)
			}
			r.Extra[k] = v
		}
	}
	return r, nil
}

// field decodes raw[name] into dst when present and not null.
func field(raw map[string]json.RawMessage, name string, dst any) error {
	v, ok := raw[name]
	if !ok || isNull(v) {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return badField(name, "%s", jsonErrText(err))
	}
	return nil
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(bytes.TrimSpace(v)) == "null" }

// jsonErrText makes encoding/json's errors readable for API clients.
func jsonErrText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := te.Field
		if where != "" {
			where = " at " + where
		}
		return fmt.Sprintf("expected %s but got a JSON %s%s", goTypeName(te.Type.String()), te.Value, where)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err.Error()
}

func goTypeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.Contains(t, "int"):
		return "an integer"
	case strings.Contains(t, "float"):
		return "a number"
	case strings.Contains(t, "string"):
		return "a string"
	case strings.Contains(t, "bool"):
		return "a boolean"
	}
	return "an object"
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []wireToolCall  `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type wireToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

var validRoles = map[string]bool{
	llm.RoleSystem: true, llm.RoleDeveloper: true, llm.RoleUser: true,
	llm.RoleAssistant: true, llm.RoleTool: true,
}

func decodeMessages(raw json.RawMessage) ([]llm.Message, error) {
	var wire []wireMessage
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, badField("messages", "must be an array of message objects: %s", jsonErrText(err))
	}
	return convertMessages(wire, raw)
}

// convertMessages checks decoded wire messages and converts them; raw is
// the array they were decoded from, whose elements become the messages'
// Raw.
func convertMessages(wire []wireMessage, raw []byte) ([]llm.Message, error) {
	if len(wire) == 0 {
		return nil, badField("messages", "must contain at least one message")
	}
	out := make([]llm.Message, len(wire))
	for i, w := range wire {
		param := fmt.Sprintf("messages[%d]", i)
		if !validRoles[w.Role] {
			return nil, badField(param+".role", "%q is not one of system, developer, user, assistant, tool", w.Role)
		}
		m := llm.Message{Role: w.Role, Name: w.Name, ToolCallID: w.ToolCallID}
		text, parts, nonText, err := decodeContent(w.Content)
		if err != nil {
			return nil, badField(param+".content", "%v", err)
		}
		m.Content, m.Parts, m.NonText = text, parts, nonText
		for _, tc := range w.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
		switch {
		case w.Role == llm.RoleTool && w.ToolCallID == "":
			return nil, badField(param+".tool_call_id", "is required for a tool message")
		case w.Role != llm.RoleAssistant && isNull(w.Content):
			return nil, badField(param+".content", "is required for a %s message", w.Role)
		case w.Role == llm.RoleAssistant && isNull(w.Content) && len(w.ToolCalls) == 0:
			return nil, badField(param+".content", "an assistant message needs content or tool_calls")
		}
		out[i] = m
	}
	setRaw(out, raw)
	return out, nil
}

// setRaw sets the Raw of each message to its element of the JSON array
// raw, as sent (aliasing raw); when raw does not hold one element per
// message, no message gets one.
func setRaw(msgs []llm.Message, raw []byte) {
	i := 0
	ok := eachElement(raw, func(v []byte) {
		if i < len(msgs) {
			msgs[i].Raw = v[:len(v):len(v)]
		}
		i++
	})
	if !ok || i != len(msgs) {
		for j := range msgs {
			msgs[j].Raw = nil
		}
	}
}

// decodeContent reads a message's content: a string, or an array of parts
// whose text parts are joined. Parts are returned as sent; nonText reports
// a part of another type (image_url, input_audio, file, or one Cato does
// not know).
func decodeContent(raw json.RawMessage) (text string, parts json.RawMessage, nonText bool, err error) {
	if isNull(raw) {
		return "", nil, false, nil
	}
	if s, ok := plainString(raw); ok {
		return s, nil, false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil, false, nil
	}
	var wire []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return "", nil, false, errors.New("must be a string or an array of content parts")
	}
	var b strings.Builder
	for i, p := range wire {
		switch p.Type {
		case "text":
			if p.Text == nil {
				return "", nil, false, fmt.Errorf("part %d: a text part needs text", i)
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(*p.Text)
		case "":
			return "", nil, false, fmt.Errorf("part %d: type is required", i)
		default:
			nonText = true
		}
	}
	return b.String(), raw, nonText, nil
}

// plainString returns the JSON string raw holds when it has no escapes,
// control characters or invalid UTF-8, so that its text is its bytes, as
// json.Unmarshal would decode it; otherwise it reports false.
func plainString(raw []byte) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	in := raw[1 : n-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

func decodeTools(raw json.RawMessage) ([]llm.Tool, error) {
	if isNull(raw) {
		return nil, nil
	}
	var wire []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      *bool           `json:"strict"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, badField("tools", "must be an array of tool objects: %s", jsonErrText(err))
	}
	tools := make([]llm.Tool, len(wire))
	for i, w := range wire {
		if w.Type != "function" {
			return nil, badField(fmt.Sprintf("tools[%d].type", i), "%q is not supported; use \"function\"", w.Type)
		}
		if w.Function.Name == "" {
			return nil, badField(fmt.Sprintf("tools[%d].function.name", i), "is required")
		}
		tools[i] = llm.Tool{Name: w.Function.Name, Description: w.Function.Description, Parameters: w.Function.Parameters, Strict: w.Function.Strict}
	}
	return tools, nil
}
