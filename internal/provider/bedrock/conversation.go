package bedrock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// DefaultMaxTokens is the answer cap sent when a request sets none: Bedrock
// requires one for Claude.
const DefaultMaxTokens = 1024

// conversation is a request in the shape both Converse and the Anthropic
// Messages API require: system prompts apart, then turns that start with the
// user and alternate, tool results in the user turn right after the
// assistant turn that asked for them.
type conversation struct {
	system      []string
	turns       []turn
	maxTokens   int
	temperature *float64
	topP        *float64
	stop        []string
	tools       []llm.Tool
	toolChoice  toolChoice
}

// Roles of a turn, as both Bedrock APIs name them.
const (
	roleUser      = "user"
	roleAssistant = "assistant"
)

// turn is one message of a conversation.
type turn struct {
	role   string
	blocks []block
}

type blockKind int

const (
	textBlock blockKind = iota
	toolUseBlock
	toolResultBlock
)

// block is one piece of a turn's content.
type block struct {
	kind blockKind
	// text is a text block's text, or a tool result's content.
	text string
	// toolID is the id of a tool use, or of the use a tool result answers.
	toolID   string
	toolName string
	// input is a tool use's arguments, a JSON object.
	input json.RawMessage
}

// toolChoice is OpenAI's tool_choice reduced to what Bedrock can express.
type toolChoice struct {
	// mode is "" (the model decides), "any" (must call a tool) or "tool"
	// (must call name).
	mode string
	name string
}

// badRequestError is a request Bedrock would reject and that Cato cannot
// fix; the client reports it as a 400. param names the field at fault
// when the error is about one field.
type badRequestError struct{ msg, param string }

func (e *badRequestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &badRequestError{msg: fmt.Sprintf(format, args...)}
}

// emptySchema is the input schema of a tool without parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// buildConversation translates req. Consecutive messages of the same role
// are merged (tool messages count as user turns); empty messages are
// dropped. It returns a *badRequestError for what cannot be fixed: an
// unknown role, a conversation that starts with the assistant or has no
// user message, a tool result without a matching call, malformed tool
// arguments or schemas.
func buildConversation(req *llm.Request) (*conversation, error) {
	if req.N > 1 {
		return nil, &badRequestError{param: "n", msg: fmt.Sprintf("n: Bedrock answers with one choice; %d were asked for", req.N)}
	}
	if err := checkResponseFormat(req.Extra["response_format"]); err != nil {
		return nil, err
	}
	c := &conversation{
		maxTokens:   req.TokenLimit(),
		temperature: req.Temperature,
		topP:        req.TopP,
		stop:        req.Stop,
	}
	if c.maxTokens <= 0 {
		c.maxTokens = DefaultMaxTokens
	}
	for i, m := range req.Messages {
		var t turn
		switch m.Role {
		case llm.RoleSystem, llm.RoleDeveloper:
			if strings.TrimSpace(m.Content) != "" {
				c.system = append(c.system, m.Content)
			}
			continue
		case llm.RoleUser:
			t.role = roleUser
			if strings.TrimSpace(m.Content) != "" {
				t.blocks = append(t.blocks, block{kind: textBlock, text: m.Content})
			}
		case llm.RoleAssistant:
			t.role = roleAssistant
			if strings.TrimSpace(m.Content) != "" {
				t.blocks = append(t.blocks, block{kind: textBlock, text: m.Content})
			}
			for j, tc := range m.ToolCalls {
				if tc.ID == "" || tc.Name == "" {
					return nil, badRequest("messages[%d].tool_calls[%d]: a tool call needs an id and a function name", i, j)
				}
				input, err := toolArguments(tc.Arguments)
				if err != nil {
					return nil, badRequest("messages[%d].tool_calls[%d].function.arguments: %v", i, j, err)
				}
				t.blocks = append(t.blocks, block{kind: toolUseBlock, toolID: tc.ID, toolName: tc.Name, input: input})
			}
		case llm.RoleTool:
			if m.ToolCallID == "" {
				return nil, badRequest("messages[%d]: a tool message needs tool_call_id", i)
			}
			t.role = roleUser
			t.blocks = append(t.blocks, block{kind: toolResultBlock, toolID: m.ToolCallID, text: m.Content})
		default:
			return nil, badRequest("messages[%d].role: %q is not system, developer, user, assistant or tool", i, m.Role)
		}
		if len(t.blocks) == 0 {
			continue
		}
		if n := len(c.turns); n > 0 && c.turns[n-1].role == t.role {
			c.turns[n-1].blocks = append(c.turns[n-1].blocks, t.blocks...)
			continue
		}
		c.turns = append(c.turns, t)
	}
	if len(c.turns) == 0 {
		return nil, badRequest("messages: Bedrock needs at least one user message with content")
	}
	if c.turns[0].role != roleUser {
		return nil, badRequest("messages: Bedrock requires the conversation (after system messages) to start with a user message, not %s", c.turns[0].role)
	}
	if err := checkToolPairs(c.turns); err != nil {
		return nil, err
	}
	for i := range c.turns {
		if c.turns[i].role == roleUser {
			resultsFirst(c.turns[i].blocks)
		}
	}
	// Claude rejects a final assistant turn (a prefill) that ends in
	// whitespace.
	if last := &c.turns[len(c.turns)-1]; last.role == roleAssistant {
		if b := &last.blocks[len(last.blocks)-1]; b.kind == textBlock {
			b.text = strings.TrimRightFunc(b.text, isSpace)
		}
	}
	if err := c.setTools(req); err != nil {
		return nil, err
	}
	return c, nil
}

// checkResponseFormat refuses a json_schema response format: Bedrock has
// no way to hold an answer to a schema, and an answer that ignored it
// would fail the client's parsing. json_object passes (the prompt must ask
// for JSON, as OpenAI requires too).
func checkResponseFormat(raw json.RawMessage) error {
	var f struct {
		Type string `json:"type"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil || f.Type != "json_schema" {
		return nil
	}
	return &badRequestError{param: "response_format", msg: "response_format: Bedrock cannot hold an answer to a json_schema; use tools, or a model that supports structured output"}
}

func isSpace(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '\r' }

// checkToolPairs checks that every tool result answers a tool use of the
// assistant turn just before it, and that every tool use is answered by the
// next turn, as both Bedrock APIs require.
func checkToolPairs(turns []turn) error {
	for i, t := range turns {
		if t.role != roleUser {
			continue
		}
		asked := map[string]bool{}
		if i > 0 {
			for _, b := range turns[i-1].blocks {
				if b.kind == toolUseBlock {
					asked[b.toolID] = true
				}
			}
		}
		answered := map[string]bool{}
		for _, b := range t.blocks {
			if b.kind != toolResultBlock {
				continue
			}
			if !asked[b.toolID] {
				return badRequest("messages: the tool result for %q does not follow an assistant message that called it", b.toolID)
			}
			answered[b.toolID] = true
		}
		for _, b := range turns[max(i-1, 0)].blocks {
			if i > 0 && b.kind == toolUseBlock && !answered[b.toolID] {
				return badRequest("messages: the tool call %q has no tool message answering it", b.toolID)
			}
		}
	}
	return nil
}

// resultsFirst moves the tool results of a user turn before its text, as
// Claude requires, keeping the order within each kind.
func resultsFirst(blocks []block) {
	var results, rest []block
	for _, b := range blocks {
		if b.kind == toolResultBlock {
			results = append(results, b)
		} else {
			rest = append(rest, b)
		}
	}
	copy(blocks, append(results, rest...))
}

// toolArguments checks that a tool call's arguments are a JSON object; empty
// means no arguments.
func toolArguments(args string) (json.RawMessage, error) {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage(`{}`), nil
	}
	raw := json.RawMessage(args)
	if !json.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	return raw, nil
}

// setTools copies the tool definitions and the tool choice. Bedrock has no
// "none": with tool_choice "none" the tools are left out, unless the
// history holds tool calls, which Converse accepts only with tools defined.
// When the history holds tool calls and the request defines no tools, a
// schema-less definition is added for each tool named in the history.
func (c *conversation) setTools(req *llm.Request) error {
	choice, none, err := parseToolChoice(req.ToolChoice)
	if err != nil {
		return err
	}
	for i, t := range req.Tools {
		if t.Name == "" {
			return badRequest("tools[%d].function.name: is required", i)
		}
		if len(t.Parameters) > 0 && string(t.Parameters) != "null" {
			trimmed := bytes.TrimLeft(t.Parameters, " \t\r\n")
			if !json.Valid(t.Parameters) || len(trimmed) == 0 || trimmed[0] != '{' {
				return badRequest("tools[%d].function.parameters: is not a JSON Schema object", i)
			}
		} else {
			t.Parameters = emptySchema
		}
		c.tools = append(c.tools, t)
	}
	var used []string
	seen := map[string]bool{}
	for _, t := range c.turns {
		for _, b := range t.blocks {
			if b.kind == toolUseBlock && !seen[b.toolName] {
				seen[b.toolName] = true
				used = append(used, b.toolName)
			}
		}
	}
	if none && len(used) == 0 {
		c.tools = nil
		return nil
	}
	if len(c.tools) == 0 {
		for _, name := range used {
			c.tools = append(c.tools, llm.Tool{Name: name, Parameters: emptySchema})
		}
	}
	if len(c.tools) > 0 && !none {
		c.toolChoice = choice
	}
	if c.toolChoice.mode == "tool" {
		found := false
		for _, t := range c.tools {
			found = found || t.Name == c.toolChoice.name
		}
		if !found {
			return badRequest("tool_choice: function %q is not among the request's tools", c.toolChoice.name)
		}
	}
	return nil
}

// parseToolChoice reads OpenAI's tool_choice: "auto", "none", "required",
// or {"type": "function", "function": {"name": …}}.
func parseToolChoice(raw json.RawMessage) (choice toolChoice, none bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return toolChoice{}, false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto", "":
			return toolChoice{}, false, nil
		case "none":
			return toolChoice{}, true, nil
		case "required":
			return toolChoice{mode: "any"}, false, nil
		}
		return toolChoice{}, false, badRequest("tool_choice: %q is not auto, none or required", s)
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Type != "function" || obj.Function.Name == "" {
		return toolChoice{}, false, badRequest(`tool_choice: give "auto", "none", "required" or {"type": "function", "function": {"name": …}}`)
	}
	return toolChoice{mode: "tool", name: obj.Function.Name}, false, nil
}
