package openai

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/cato-gateway/cato/internal/llm"
)

// EncodeRequest writes r as an upstream request body for model (the
// upstream's model id). Cato writes model, messages, stream and
// stream_options itself; everything else the client sent reaches the
// upstream exactly as sent (r.Extra), and so does every message the client
// sent (Message.Raw). What Cato writes:
//
//   - model: the upstream's model id;
//   - messages: the client's as sent, after any Cato added (a session's
//     earlier turns), which are encoded from their fields;
//   - stream: true on a stream, absent otherwise; stream_options: on a
//     stream, the client's with include_usage set to true (Cato counts
//     every stream's usage), absent otherwise;
//   - return_hidden_states: true when r asks for hidden states;
//   - the fields of r Cato reads (max_tokens, temperature, tools…), for a
//     request Cato made itself: a field whose member is in r.Extra is not
//     written twice.
//
// Extra members follow in key order.
func EncodeRequest(r *llm.Request, model string, stream bool) ([]byte, error) {
	size := 64 + len(model)
	for _, m := range r.Messages {
		size += len(m.Raw) + len(m.Content) + 32
	}
	for k, v := range r.Extra {
		size += len(k) + len(v) + 4
	}
	b := make([]byte, 0, size)
	b = append(b, `{"model":`...)
	b = appendJSONString(b, model)
	b = append(b, `,"messages":[`...)
	for i := range r.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendMessage(b, &r.Messages[i]); err != nil {
			return nil, err
		}
	}
	b = append(b, ']')
	if stream {
		b = append(b, `,"stream":true,"stream_options":`...)
		b = appendStreamOptions(b, r.StreamOptions)
	}
	sent := func(name string) bool {
		_, ok := r.Extra[name]
		return ok
	}
	if r.HiddenStates && !sent("return_hidden_states") {
		b = append(b, `,"return_hidden_states":true`...)
	}
	if r.MaxTokens > 0 && !sent("max_tokens") {
		b = append(b, `,"max_tokens":`...)
		b = strconv.AppendInt(b, int64(r.MaxTokens), 10)
	}
	if r.MaxCompletionTokens > 0 && !sent("max_completion_tokens") {
		b = append(b, `,"max_completion_tokens":`...)
		b = strconv.AppendInt(b, int64(r.MaxCompletionTokens), 10)
	}
	if r.N > 0 && !sent("n") {
		b = append(b, `,"n":`...)
		b = strconv.AppendInt(b, int64(r.N), 10)
	}
	var err error
	marshal := func(name string, v any) {
		if err != nil || sent(name) {
			return
		}
		var vb []byte
		if vb, err = json.Marshal(v); err == nil {
			b = appendMember(b, name, vb)
		}
	}
	if r.Temperature != nil {
		marshal("temperature", r.Temperature)
	}
	if r.TopP != nil {
		marshal("top_p", r.TopP)
	}
	if len(r.Stop) > 0 {
		marshal("stop", r.Stop)
	}
	if len(r.Tools) > 0 {
		marshal("tools", wireTools(r.Tools))
	}
	if len(r.ToolChoice) > 0 {
		marshal("tool_choice", r.ToolChoice)
	}
	if r.User != "" && !sent("user") {
		b = appendMember(b, "user", appendJSONString(nil, r.User))
	}
	if err != nil {
		return nil, err
	}
	if len(r.Extra) > 0 {
		keys := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			if !ownFields[k] {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = appendMember(b, k, r.Extra[k])
		}
	}
	return append(b, '}'), nil
}

func appendMember(b []byte, name string, v []byte) []byte {
	b = append(b, ',')
	b = appendJSONString(b, name)
	b = append(b, ':')
	return append(b, v...)
}

// appendMessage appends m: as the client sent it, or encoded from its
// fields.
func appendMessage(b []byte, m *llm.Message) ([]byte, error) {
	if len(m.Raw) > 0 {
		return append(b, m.Raw...), nil
	}
	wm := wireRequestMessage{Role: m.Role, Name: m.Name, ToolCalls: wireToolCalls(m.ToolCalls), ToolCallID: m.ToolCallID}
	switch {
	case m.Parts != nil:
		wm.Content = m.Parts
	case m.Content == "" && len(m.ToolCalls) > 0:
		wm.Content = json.RawMessage("null")
	default:
		if q, ok := quotePlain(m.Content); ok {
			wm.Content = q
			break
		}
		q, err := json.Marshal(m.Content)
		if err != nil {
			return nil, err
		}
		wm.Content = q
	}
	mb, err := json.Marshal(&wm)
	if err != nil {
		return nil, err
	}
	return append(b, mb...), nil
}

// appendStreamOptions appends the client's stream_options (a JSON object,
// or nil) with include_usage set to true.
func appendStreamOptions(b []byte, opts json.RawMessage) []byte {
	b = append(b, '{')
	eachMember(opts, func(k, v []byte) {
		if string(k) == "include_usage" {
			return
		}
		b = appendJSONString(b, string(k))
		b = append(b, ':')
		b = append(b, v...)
		b = append(b, ',')
	})
	return append(b, `"include_usage":true}`...)
}

func wireTools(tools []llm.Tool) []wireTool {
	out := make([]wireTool, len(tools))
	for i, t := range tools {
		out[i].Type = "function"
		out[i].Function.Name, out[i].Function.Description, out[i].Function.Parameters = t.Name, t.Description, t.Parameters
		out[i].Function.Strict = t.Strict
	}
	return out
}

// quotePlain returns s as a JSON string, byte for byte as json.Marshal
// writes it, when s holds only printable ASCII that json.Marshal writes
// unescaped (not '"', '\\', '<', '>' or '&'); otherwise it reports false.
func quotePlain(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return nil, false
		}
	}
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
