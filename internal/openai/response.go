package openai

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/cato-gateway/cato/internal/llm"
)

// ChatResponse is a /v1/chat/completions answer (object "chat.completion")
// or one streamed chunk (object "chat.completion.chunk").
type ChatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
	// Cato is Cato's own account of the request; OpenAI clients ignore it.
	Cato *Meta `json:"cato,omitempty"`
}

// Choice is one choice of an answer or chunk. Exactly one of Message and
// Delta is set.
type Choice struct {
	Index        int          `json:"index"`
	Message      *WireMessage `json:"message,omitempty"`
	Delta        *WireMessage `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
	// Extra holds choice fields Cato does not interpret (logprobs…).
	Extra map[string]json.RawMessage `json:"-"`
	// HiddenStates is how SGLang-style servers return hidden states.
	HiddenStates json.RawMessage `json:"hidden_states,omitempty"`
}

type choiceAlias Choice

// MarshalJSON writes the choice with its Extra fields inlined.
func (c Choice) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(choiceAlias(c))
	if err != nil || len(c.Extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range c.Extra {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

var knownChoiceFields = map[string]bool{"index": true, "message": true, "delta": true, "finish_reason": true, "hidden_states": true}

// UnmarshalJSON reads a choice and keeps unknown fields in Extra.
func (c *Choice) UnmarshalJSON(b []byte) error {
	var a choiceAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	// A choice that decoded into the struct is a valid object; its members
	// are walked without decoding them a second time. As with a decode into
	// a map, the last of repeated keys wins.
	eachMember(b, func(k, v []byte) {
		if knownChoiceFields[string(k)] {
			return
		}
		if isNull(v) {
			delete(a.Extra, string(k))
			return
		}
		if a.Extra == nil {
			a.Extra = map[string]json.RawMessage{}
		}
		a.Extra[string(k)] = append(json.RawMessage(nil), v...)
	})
	if len(a.Extra) == 0 {
		a.Extra = nil
	}
	*c = Choice(a)
	return nil
}

// WireMessage is a message as it appears in answers and chunks.
type WireMessage struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
}

// Usage is OpenAI's token usage object.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Meta is the "cato" object of a response.
type Meta struct {
	Model        string            `json:"model"`
	Cached       bool              `json:"cached"`
	FallbackUsed bool              `json:"fallback_used"`
	SessionID    string            `json:"session_id,omitempty"`
	Routing      json.RawMessage   `json:"routing,omitempty"`
	LatencyMS    float64           `json:"latency_ms"`
	CostUSD      float64           `json:"cost_usd"`
	HiddenStates *llm.HiddenStates `json:"hidden_states"`
	// Degraded lists what Cato could not use for this answer (for example
	// "session_store" while the store is unreachable).
	Degraded []string `json:"degraded,omitempty"`
}

// UsageOf converts llm.Usage to the wire form.
func UsageOf(u llm.Usage) *Usage {
	return &Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.Total()}
}

// NewChatResponse builds a non-streamed answer.
func NewChatResponse(id string, created int64, model string, r *llm.Response) *ChatResponse {
	content := r.Message.Content
	msg := &WireMessage{Role: llm.RoleAssistant, Content: &content, ToolCalls: wireToolCalls(r.Message.ToolCalls)}
	if len(msg.ToolCalls) > 0 && content == "" {
		msg.Content = nil
	}
	finish := r.FinishReason
	if finish == "" {
		finish = llm.FinishStop
	}
	return &ChatResponse{
		ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []Choice{{Message: msg, FinishReason: &finish, Extra: maps.Clone(r.Extra)}},
		Usage:   UsageOf(r.Usage),
	}
}

// NewChunk builds one streamed chunk from c. A chunk that carries only
// usage has no choices, as OpenAI sends it with include_usage.
func NewChunk(id string, created int64, model string, c *llm.Chunk) *ChatResponse {
	out := &ChatResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, Choices: []Choice{}}
	hasDelta := c.Role != "" || c.Content != "" || len(c.ToolCalls) > 0 || c.FinishReason != "" || len(c.Extra) > 0
	if hasDelta {
		d := &WireMessage{Role: c.Role}
		if c.Content != "" || c.Role != "" {
			content := c.Content
			d.Content = &content
		}
		for _, tc := range c.ToolCalls {
			w := wireToolCall{Index: &tc.Index, ID: tc.ID}
			if tc.ID != "" {
				w.Type = "function"
			}
			w.Function.Name, w.Function.Arguments = tc.Name, tc.Arguments
			d.ToolCalls = append(d.ToolCalls, w)
		}
		ch := Choice{Delta: d, Extra: c.Extra}
		if c.FinishReason != "" {
			f := c.FinishReason
			ch.FinishReason = &f
		}
		out.Choices = append(out.Choices, ch)
	}
	return out
}

func wireToolCalls(calls []llm.ToolCall) []wireToolCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]wireToolCall, len(calls))
	for i, c := range calls {
		out[i].ID, out[i].Type = c.ID, "function"
		out[i].Function.Name, out[i].Function.Arguments = c.Name, c.Arguments
	}
	return out
}

// ToResponse converts an upstream's non-streamed answer to llm.Response.
func (r *ChatResponse) ToResponse() (*llm.Response, error) {
	if len(r.Choices) == 0 || r.Choices[0].Message == nil {
		return nil, fmt.Errorf("upstream answer has no choices[0].message")
	}
	c := r.Choices[0]
	out := &llm.Response{ID: r.ID, UpstreamModel: r.Model, Extra: c.Extra}
	out.Message.Role = llm.RoleAssistant
	if c.Message.Content != nil {
		out.Message.Content = *c.Message.Content
	}
	for _, tc := range c.Message.ToolCalls {
		out.Message.ToolCalls = append(out.Message.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	if c.FinishReason != nil {
		out.FinishReason = *c.FinishReason
	}
	if r.Usage != nil {
		out.Usage = llm.Usage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens}
	}
	return out, nil
}

// ToChunk converts an upstream's streamed chunk to llm.Chunk.
func (r *ChatResponse) ToChunk() llm.Chunk {
	out := llm.Chunk{ID: r.ID, UpstreamModel: r.Model}
	if r.Usage != nil {
		out.Usage = &llm.Usage{PromptTokens: r.Usage.PromptTokens, CompletionTokens: r.Usage.CompletionTokens}
	}
	if len(r.Choices) == 0 {
		return out
	}
	c := r.Choices[0]
	out.Extra = c.Extra
	if c.FinishReason != nil {
		out.FinishReason = *c.FinishReason
	}
	if d := c.Delta; d != nil {
		out.Role = d.Role
		if d.Content != nil {
			out.Content = *d.Content
		}
		for i, tc := range d.ToolCalls {
			idx := i
			if tc.Index != nil {
				idx = *tc.Index
			}
			out.ToolCalls = append(out.ToolCalls, llm.ToolCallDelta{Index: idx, ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
		}
	}
	return out
}

// EncodeRequest writes r as an upstream request body for model (the
// upstream's model id). Extra fields are passed through unchanged, after
// the fields Cato writes itself.
func EncodeRequest(r *llm.Request, model string, stream bool) ([]byte, error) {
	w := wireRequest{
		Model: model, MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP,
		Stop: r.Stop, ToolChoice: r.ToolChoice, User: r.User, HiddenStates: r.HiddenStates,
		Messages: make([]wireRequestMessage, len(r.Messages)),
	}
	if stream {
		w.Stream = true
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	for i, m := range r.Messages {
		wm := wireRequestMessage{Role: m.Role, Name: m.Name, ToolCalls: wireToolCalls(m.ToolCalls), ToolCallID: m.ToolCallID}
		switch {
		case m.Parts != nil:
			wm.Content = m.Parts
		case m.Content == "" && len(m.ToolCalls) > 0:
			wm.Content = json.RawMessage("null")
		default:
			if b, ok := quotePlain(m.Content); ok {
				wm.Content = b
				break
			}
			b, err := json.Marshal(m.Content)
			if err != nil {
				return nil, err
			}
			wm.Content = b
		}
		w.Messages[i] = wm
	}
	for _, t := range r.Tools {
		wt := wireTool{Type: "function"}
		wt.Function.Name, wt.Function.Description, wt.Function.Parameters = t.Name, t.Description, t.Parameters
		wt.Function.Strict = t.Strict
		w.Tools = append(w.Tools, wt)
	}
	b, err := json.Marshal(&w)
	if err != nil || len(r.Extra) == 0 {
		return b, err
	}
	return appendExtra(b, r.Extra)
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

// appendExtra adds extra's fields to the JSON object b, in key order,
// skipping those b already has.
func appendExtra(b []byte, extra map[string]json.RawMessage) ([]byte, error) {
	var known map[string]json.RawMessage
	if err := json.Unmarshal(b, &known); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if _, taken := known[k]; !taken {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = b[:len(b)-1] // drop the closing brace
	for _, k := range keys {
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(b, ',')
		b = append(b, kb...)
		b = append(b, ':')
		b = append(b, extra[k]...)
	}
	return append(b, '}'), nil
}

type wireRequest struct {
	Model         string               `json:"model"`
	Messages      []wireRequestMessage `json:"messages"`
	Stream        bool                 `json:"stream,omitempty"`
	StreamOptions *streamOptions       `json:"stream_options,omitempty"`
	MaxTokens     int                  `json:"max_tokens,omitempty"`
	Temperature   *float64             `json:"temperature,omitempty"`
	TopP          *float64             `json:"top_p,omitempty"`
	Stop          []string             `json:"stop,omitempty"`
	Tools         []wireTool           `json:"tools,omitempty"`
	ToolChoice    json.RawMessage      `json:"tool_choice,omitempty"`
	User          string               `json:"user,omitempty"`
	HiddenStates  bool                 `json:"return_hidden_states,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type wireRequestMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []wireToolCall  `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	} `json:"function"`
}
