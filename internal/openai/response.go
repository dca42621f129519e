package openai

import (
	"encoding/json"
	"fmt"
	"maps"

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

// choiceOut is a Choice as written: a message's content is always
// present, null when there is none (a tool-call answer), as OpenAI
// writes it; a delta's only when it carries some.
type choiceOut struct {
	Index        int             `json:"index"`
	Message      *messageOut     `json:"message,omitempty"`
	Delta        *WireMessage    `json:"delta,omitempty"`
	FinishReason *string         `json:"finish_reason"`
	HiddenStates json.RawMessage `json:"hidden_states,omitempty"`

	msg messageOut // what Message points to, allocated with the choice
}

type messageOut struct {
	Role      string         `json:"role"`
	Content   *string        `json:"content"`
	ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
}

// MarshalJSON writes the choice with its Extra fields inlined.
func (c Choice) MarshalJSON() ([]byte, error) {
	out := choiceOut{Index: c.Index, Delta: c.Delta, FinishReason: c.FinishReason, HiddenStates: c.HiddenStates}
	if m := c.Message; m != nil {
		out.msg = messageOut{Role: m.Role, Content: m.Content, ToolCalls: m.ToolCalls}
		out.Message = &out.msg
	}
	b, err := json.Marshal(&out)
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

// Usage is OpenAI's token usage object. Cato writes the details only
// when they count something; it reads them from upstreams, which send them
// always (OpenAI), as null, or not at all.
type Usage struct {
	PromptTokens            int                     `json:"prompt_tokens"`
	CompletionTokens        int                     `json:"completion_tokens"`
	TotalTokens             int                     `json:"total_tokens"`
	PromptTokensDetails     PromptTokensDetails     `json:"prompt_tokens_details,omitzero"`
	CompletionTokensDetails CompletionTokensDetails `json:"completion_tokens_details,omitzero"`
}

// PromptTokensDetails breaks prompt tokens down; Cato reads cached_tokens.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// CompletionTokensDetails breaks completion tokens down; Cato reads
// reasoning_tokens.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// Tokens returns u as llm.Usage; UsageOf converts back. These two and
// ResponseUsageOf are where Cato converts usage, so that the details
// travel from any upstream to either API.
func (u *Usage) Tokens() llm.Usage {
	return llm.Usage{
		PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.PromptTokensDetails.CachedTokens, ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens,
	}
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
	return &Usage{
		PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.Total(),
		PromptTokensDetails:     PromptTokensDetails{CachedTokens: u.CachedTokens},
		CompletionTokensDetails: CompletionTokensDetails{ReasoningTokens: u.ReasoningTokens},
	}
}

// NewChatResponse builds a non-streamed answer. A tool-call answer
// without text has content null, as OpenAI sends it.
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
// usage has no choices, as OpenAI sends it with include_usage. The delta
// has content when the chunk has text, or when it opens the answer (a
// role) without tool calls: a tool call's first chunk has none, so that
// clients see no empty text before the call.
func NewChunk(id string, created int64, model string, c *llm.Chunk) *ChatResponse {
	out := &ChatResponse{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, Choices: []Choice{}}
	hasDelta := c.Role != "" || c.Content != "" || len(c.ToolCalls) > 0 || c.FinishReason != "" || len(c.Extra) > 0
	if hasDelta {
		d := &WireMessage{Role: c.Role}
		if c.Content != "" || (c.Role != "" && len(c.ToolCalls) == 0) {
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
		ch := Choice{Index: c.Index, Delta: d, Extra: c.Extra}
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
		out.Usage = r.Usage.Tokens()
	}
	return out, nil
}

// ToChunk converts an upstream's streamed chunk to llm.Chunk.
func (r *ChatResponse) ToChunk() llm.Chunk {
	out := llm.Chunk{ID: r.ID, UpstreamModel: r.Model}
	if r.Usage != nil {
		u := r.Usage.Tokens()
		out.Usage = &u
	}
	if len(r.Choices) == 0 {
		return out
	}
	c := r.Choices[0]
	out.Index, out.Extra = c.Index, c.Extra
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
