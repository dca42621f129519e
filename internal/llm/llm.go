package llm

import (
	"encoding/json"
	"strings"
)

// Roles of a chat message, as OpenAI names them.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one turn of a conversation.
type Message struct {
	Role string
	// Content is the message's text. When the client sent content parts
	// (text and images), Content holds their text joined by newlines and
	// Parts keeps the original JSON array so that OpenAI-compatible
	// upstreams receive it unchanged.
	Content string
	Parts   json.RawMessage
	// NonText is set when Parts holds a part other than text (an image,
	// audio, a file, or a type Cato does not know): Content then says
	// less than the message does. The decoder of Parts sets it. (Left out
	// of JSON dumps when false, as most messages have it.)
	NonText bool `json:",omitempty"`
	// Name is the optional participant name.
	Name string
	// ToolCalls are the calls an assistant turn asked for.
	ToolCalls []ToolCall
	// ToolCallID links a tool turn to the call it answers.
	ToolCallID string
}

// ToolCall is a function call requested by the model.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text, as the model produced it
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON Schema; nil means no parameters
}

// Request is one chat call to one model.
type Request struct {
	// Model is the configured model name (a tier such as "bedrock_haiku").
	// Adapters send their own upstream model id, not this name.
	Model    string
	Messages []Message
	// MaxTokens caps the answer's length. Zero means the adapter's default.
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Stop        []string
	Tools       []Tool
	// ToolChoice is OpenAI's tool_choice, kept as sent.
	ToolChoice json.RawMessage
	// HiddenStates asks the model for its hidden states; only adapters that
	// implement them honour it.
	HiddenStates bool
	// IncludeUsage asks a stream to end with a usage chunk.
	IncludeUsage bool
	// User is the end user's id, forwarded where the upstream accepts it.
	User string
	// Extra holds request fields Cato does not interpret (response_format,
	// logprobs, seed…). OpenAI-compatible upstreams receive them unchanged;
	// other adapters ignore them.
	Extra map[string]json.RawMessage
}

// LastUserText returns the content of the last user message, or "".
func (r *Request) LastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == RoleUser {
			return r.Messages[i].Content
		}
	}
	return ""
}

// HasNonText reports whether any message carries a content part other
// than text (Message.NonText).
func (r *Request) HasNonText() bool {
	for i := range r.Messages {
		if r.Messages[i].NonText {
			return true
		}
	}
	return false
}

// SystemText returns the system and developer messages joined by newlines.
func (r *Request) SystemText() string {
	var b strings.Builder
	for _, m := range r.Messages {
		if m.Role == RoleSystem || m.Role == RoleDeveloper {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(m.Content)
		}
	}
	return b.String()
}

// Usage counts the tokens of one call.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Total returns PromptTokens + CompletionTokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{u.PromptTokens + v.PromptTokens, u.CompletionTokens + v.CompletionTokens}
}

// HiddenStates is a pooled hidden-state vector of a self-hosted model.
type HiddenStates struct {
	Model   string    `json:"model"`
	Layer   int       `json:"layer"`
	Pooling string    `json:"pooling"`
	Dim     int       `json:"dim"`
	Values  []float32 `json:"values"`
}

// Finish reasons, as OpenAI names them.
const (
	FinishStop      = "stop"
	FinishLength    = "length"
	FinishToolCalls = "tool_calls"
	FinishFilter    = "content_filter"
)

// Response is the complete answer of one call.
type Response struct {
	// ID is the upstream's response id, if it gave one.
	ID string
	// UpstreamModel is the model id the upstream reported.
	UpstreamModel string
	Message       Message
	FinishReason  string
	Usage         Usage
	HiddenStates  *HiddenStates
	// Extra holds choice-level fields Cato does not interpret (logprobs…),
	// passed back to the client unchanged.
	Extra map[string]json.RawMessage
}
