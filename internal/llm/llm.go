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
	// Raw is the message exactly as the client sent it (a JSON object),
	// or nil for a message Cato made (a session's earlier turns, a
	// summary). OpenAI-compatible upstreams receive Raw in place of the
	// fields above, so that fields Cato does not read reach them
	// unchanged; whoever changes one of the fields above must set Raw to
	// nil.
	Raw json.RawMessage
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
	// Strict asks the model to follow Parameters exactly (OpenAI's
	// strict); nil leaves it to the upstream's default.
	Strict *bool
}

// Request is one chat call to one model.
type Request struct {
	// Model is the configured model name (a tier such as "bedrock_haiku").
	// Adapters send their own upstream model id, not this name.
	Model    string
	Messages []Message
	// MaxTokens is the client's max_tokens and MaxCompletionTokens its
	// max_completion_tokens, each as sent (zero: not sent). OpenAI's
	// reasoning models accept only the second, so neither is rewritten
	// into the other; adapters with one limit use TokenLimit.
	MaxTokens           int
	MaxCompletionTokens int
	// N is how many choices the client asked for; zero means one.
	// Adapters that can give only one refuse N > 1.
	N           int
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
	// StreamOptions is the client's stream_options object as sent; nil
	// when it sent none. OpenAI-compatible upstreams receive it with
	// include_usage set on streams (Cato counts every stream's usage).
	StreamOptions json.RawMessage
	// User is the end user's id, forwarded where the upstream accepts it.
	User string
	// Extra holds the members of the client's body that Cato passes on
	// without owning them, exactly as sent: every member but model,
	// messages, stream, stream_options, session_id and cato. Some of them
	// Cato also reads into the fields above (temperature, max_tokens,
	// tools, n…); an OpenAI-compatible upstream receives Extra's value,
	// and a field above whose member is in Extra is not written again, so
	// whoever changes such a field must delete its member from Extra.
	// Other adapters read the fields above, and what they can map of
	// Extra (docs/providers.md).
	Extra map[string]json.RawMessage
}

// TokenLimit returns the answer's length cap for adapters that have one
// limit: MaxCompletionTokens when set, else MaxTokens; zero means the
// adapter's default.
func (r *Request) TokenLimit() int {
	if r.MaxCompletionTokens > 0 {
		return r.MaxCompletionTokens
	}
	return r.MaxTokens
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

// Usage counts the tokens of one call. The details are parts of the two
// counts, zero where the upstream did not report them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	// CachedTokens are the prompt tokens the upstream read from its prompt
	// cache (OpenAI's prompt_tokens_details.cached_tokens, Bedrock's
	// cacheReadInputTokens).
	CachedTokens int
	// ReasoningTokens are the completion tokens a reasoning model spent
	// thinking (OpenAI's completion_tokens_details.reasoning_tokens).
	ReasoningTokens int
}

// Total returns PromptTokens + CompletionTokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		PromptTokens: u.PromptTokens + v.PromptTokens, CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		CachedTokens: u.CachedTokens + v.CachedTokens, ReasoningTokens: u.ReasoningTokens + v.ReasoningTokens,
	}
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
	// Raw is the upstream's answer document exactly as it came, when the
	// upstream speaks OpenAI's chat completions; nil otherwise. The fields
	// above are read from its first choice; api answers the client with
	// Raw itself, every choice and field included, changing only what
	// docs/api.md lists.
	Raw []byte
}
