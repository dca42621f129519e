package bedrock

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// AnthropicVersion is the anthropic_version Bedrock requires in an
// InvokeModel body for Claude.
const AnthropicVersion = "bedrock-2023-05-31"

// messagesRequest is the Anthropic Messages body of InvokeModel.
type messagesRequest struct {
	AnthropicVersion string            `json:"anthropic_version"`
	MaxTokens        int               `json:"max_tokens"`
	System           string            `json:"system,omitempty"`
	Messages         []messagesTurn    `json:"messages"`
	Temperature      *float64          `json:"temperature,omitempty"`
	TopP             *float64          `json:"top_p,omitempty"`
	StopSequences    []string          `json:"stop_sequences,omitempty"`
	Tools            []messagesTool    `json:"tools,omitempty"`
	ToolChoice       *messagesToolPick `json:"tool_choice,omitempty"`
}

type messagesTurn struct {
	Role    string          `json:"role"`
	Content []messagesBlock `json:"content"`
}

// messagesBlock is a content block of the Messages API, in requests and
// answers.
type messagesBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   string          `json:"content,omitempty"`
}

type messagesTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type messagesToolPick struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// messagesResponse is the answer of InvokeModel, and the message of a
// streamed message_start event.
type messagesResponse struct {
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	Content    []messagesBlock `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      messagesUsage   `json:"usage"`
}

type messagesUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

func (u messagesUsage) usage() llm.Usage {
	return llm.Usage{
		PromptTokens:     u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CompletionTokens: u.OutputTokens,
		CachedTokens:     u.CacheReadInputTokens,
	}
}

// toMessages translates c into an InvokeModel body.
func toMessages(c *conversation) ([]byte, error) {
	body := messagesRequest{
		AnthropicVersion: AnthropicVersion,
		MaxTokens:        c.maxTokens,
		System:           strings.Join(c.system, "\n"),
		Temperature:      c.temperature,
		TopP:             c.topP,
		StopSequences:    c.stop,
	}
	for _, t := range c.turns {
		mt := messagesTurn{Role: t.role}
		for _, b := range t.blocks {
			switch b.kind {
			case textBlock:
				mt.Content = append(mt.Content, messagesBlock{Type: "text", Text: b.text})
			case toolUseBlock:
				mt.Content = append(mt.Content, messagesBlock{Type: "tool_use", ID: b.toolID, Name: b.toolName, Input: b.input})
			case toolResultBlock:
				mt.Content = append(mt.Content, messagesBlock{Type: "tool_result", ToolUseID: b.toolID, Content: b.text})
			}
		}
		body.Messages = append(body.Messages, mt)
	}
	for _, t := range c.tools {
		body.Tools = append(body.Tools, messagesTool{Name: t.Name, Description: t.Description, InputSchema: t.Parameters})
	}
	switch c.toolChoice.mode {
	case "any":
		body.ToolChoice = &messagesToolPick{Type: "any"}
	case "tool":
		body.ToolChoice = &messagesToolPick{Type: "tool", Name: c.toolChoice.name}
	}
	return json.Marshal(body)
}

// fromMessages translates an InvokeModel answer.
func fromMessages(raw []byte) (*llm.Response, error) {
	var m messagesResponse
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding the Anthropic answer: %w", err)
	}
	r := &llm.Response{ID: m.ID, UpstreamModel: m.Model, Message: llm.Message{Role: llm.RoleAssistant}}
	var text strings.Builder
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			r.Message.ToolCalls = append(r.Message.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	r.Message.Content = text.String()
	r.FinishReason = finishReason(m.StopReason)
	r.Usage = m.Usage.usage()
	return r, nil
}
