package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// ResponsesRequest is a decoded POST /v1/responses body. Cato answers it
// statelessly, as a chat request (ChatRequest), except for
// previous_response_id and item_reference, which name responses Cato
// stored (StoredResponse).
type ResponsesRequest struct {
	Model        string
	Instructions string
	// Tools are the function tools; built-in tools are refused.
	Tools []llm.Tool
	// ToolChoice is tool_choice in chat completions' form.
	ToolChoice json.RawMessage
	// ResponseFormat is text.format in chat completions' response_format
	// form; nil for plain text.
	ResponseFormat  json.RawMessage
	MaxOutputTokens int
	Temperature     *float64
	TopP            *float64
	Metadata        map[string]string
	// Store is false when the client sent store: false; the default is to
	// store the response.
	Store  bool
	User   string
	Stream bool
	// SessionID is Cato's session_id extra.
	SessionID          string
	PreviousResponseID string
	ParallelToolCalls  *bool
	// Extra holds chat completions fields the request maps to directly
	// (reasoning_effort, service_tier, prompt_cache_key…): OpenAI-compatible
	// upstreams receive them, other adapters ignore them.
	Extra map[string]json.RawMessage
	// Cato holds Cato's own options.
	Cato Options

	input []inputItem
	// echo keeps fields as sent, for the response object.
	echo responseEcho
}

// responseEcho holds request fields the response object repeats as sent.
type responseEcho struct {
	tools      json.RawMessage
	toolChoice json.RawMessage
	text       json.RawMessage
	reasoning  json.RawMessage
	truncation string
}

// inputItem is one input item: a message, a function call of an earlier
// assistant turn, or a reference to an item of a stored response. Exactly
// one field is set.
type inputItem struct {
	msg  *llm.Message
	call *llm.ToolCall
	ref  string
}

// responsesFields are the top-level fields DecodeResponsesRequest reads;
// others are ignored, so that newer clients keep working.
var responsesFields = []string{
	"model", "input", "instructions", "tools", "tool_choice", "text", "max_output_tokens",
	"temperature", "top_p", "metadata", "store", "user", "stream", "previous_response_id",
	"parallel_tool_calls", "reasoning", "service_tier", "prompt_cache_key", "safety_identifier",
	"truncation", "background", "conversation", "prompt", "top_logprobs", "session_id", "cato",
}

// DecodeResponsesRequest decodes and validates a Responses API request
// body. Every error it returns is a *RequestError.
func DecodeResponsesRequest(body []byte) (*ResponsesRequest, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &RequestError{Message: "the request body is not a JSON object: " + jsonErrText(err)}
	}
	if raw == nil {
		return nil, &RequestError{Message: "the request body must be a JSON object"}
	}
	r := &ResponsesRequest{Store: true}
	if err := field(raw, "model", &r.Model); err != nil {
		return nil, err
	}
	if r.Model == "" {
		return nil, badField("model", "is required (a configured model name, or \"auto\" to let Cato route)")
	}
	if err := refuseUnsupported(raw); err != nil {
		return nil, err
	}
	var err error
	if r.input, err = decodeInput(raw["input"]); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  any
	}{
		{"instructions", &r.Instructions}, {"max_output_tokens", &r.MaxOutputTokens},
		{"temperature", &r.Temperature}, {"top_p", &r.TopP}, {"metadata", &r.Metadata},
		{"store", &r.Store}, {"user", &r.User}, {"stream", &r.Stream},
		{"previous_response_id", &r.PreviousResponseID}, {"parallel_tool_calls", &r.ParallelToolCalls},
		{"session_id", &r.SessionID}, {"truncation", &r.echo.truncation},
	} {
		if err := field(raw, f.name, f.dst); err != nil {
			return nil, err
		}
	}
	if len(r.input) == 0 && r.PreviousResponseID == "" {
		return nil, badField("input", "is required")
	}
	switch {
	case r.MaxOutputTokens < 0:
		return nil, badField("max_output_tokens", "must not be negative")
	case r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2):
		return nil, badField("temperature", "%v is not between 0 and 2", *r.Temperature)
	case r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1):
		return nil, badField("top_p", "%v is not between 0 and 1", *r.TopP)
	}
	if r.Tools, err = decodeResponsesTools(raw["tools"]); err != nil {
		return nil, err
	}
	if len(r.Tools) > 0 {
		r.echo.tools = raw["tools"]
	}
	if tc := raw["tool_choice"]; !isNull(tc) {
		if r.ToolChoice, err = chatToolChoice(tc); err != nil {
			return nil, err
		}
		r.echo.toolChoice = tc
	}
	if t := raw["text"]; !isNull(t) {
		if err := r.decodeText(t); err != nil {
			return nil, err
		}
		r.echo.text = t
	}
	if err := r.decodeExtra(raw); err != nil {
		return nil, err
	}
	if c := raw["cato"]; !isNull(c) {
		dec := json.NewDecoder(bytes.NewReader(c))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r.Cato); err != nil {
			return nil, badField("cato", "%s (known: domain, cache, return_hidden_states, memory)", jsonErrText(err))
		}
	}
	return r, nil
}

// refuseUnsupported refuses the Responses features Cato does not offer,
// rather than answering as if they had been honoured.
func refuseUnsupported(raw map[string]json.RawMessage) error {
	var background bool
	if err := field(raw, "background", &background); err != nil {
		return err
	}
	if background {
		return badField("background", "background responses are not supported")
	}
	if !isNull(raw["conversation"]) {
		return badField("conversation", "conversations are not supported; use previous_response_id")
	}
	if !isNull(raw["prompt"]) {
		return badField("prompt", "prompt templates are not supported")
	}
	var top int
	if err := field(raw, "top_logprobs", &top); err != nil {
		return err
	}
	if top > 0 {
		return badField("top_logprobs", "log probabilities are not supported on /v1/responses")
	}
	return nil
}

// decodeText reads text.format into ResponseFormat and text.verbosity
// into Extra.
func (r *ResponsesRequest) decodeText(raw json.RawMessage) error {
	var t struct {
		Format *struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Schema      json.RawMessage `json:"schema"`
			Strict      *bool           `json:"strict,omitempty"`
		} `json:"format"`
		Verbosity json.RawMessage `json:"verbosity"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return badField("text", "%s", jsonErrText(err))
	}
	if !isNull(t.Verbosity) {
		r.setExtra("verbosity", t.Verbosity)
	}
	if t.Format == nil {
		return nil
	}
	switch f := t.Format; f.Type {
	case "text":
	case "json_object":
		r.ResponseFormat = json.RawMessage(`{"type":"json_object"}`)
	case "json_schema":
		if f.Name == "" {
			return badField("text.format.name", "is required for a json_schema format")
		}
		if isNull(f.Schema) {
			return badField("text.format.schema", "is required for a json_schema format")
		}
		type schema struct {
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Schema      json.RawMessage `json:"schema"`
			Strict      *bool           `json:"strict,omitempty"`
		}
		b, err := json.Marshal(struct {
			Type       string `json:"type"`
			JSONSchema schema `json:"json_schema"`
		}{"json_schema", schema{f.Name, f.Description, f.Schema, f.Strict}})
		if err != nil {
			return badField("text.format.schema", "%v", err)
		}
		r.ResponseFormat = b
	default:
		return badField("text.format.type", "%q is not one of text, json_object, json_schema", f.Type)
	}
	return nil
}

// decodeExtra maps the fields that have a chat completions twin.
func (r *ResponsesRequest) decodeExtra(raw map[string]json.RawMessage) error {
	for _, name := range []string{"service_tier", "prompt_cache_key", "safety_identifier"} {
		if v := raw[name]; !isNull(v) {
			r.setExtra(name, v)
		}
	}
	if r.ParallelToolCalls != nil && len(r.Tools) > 0 {
		r.setExtra("parallel_tool_calls", raw["parallel_tool_calls"])
	}
	if v := raw["reasoning"]; !isNull(v) {
		var reasoning struct {
			Effort json.RawMessage `json:"effort"`
		}
		if err := json.Unmarshal(v, &reasoning); err != nil {
			return badField("reasoning", "%s", jsonErrText(err))
		}
		if !isNull(reasoning.Effort) {
			r.setExtra("reasoning_effort", reasoning.Effort)
		}
		r.echo.reasoning = v
	}
	return nil
}

func (r *ResponsesRequest) setExtra(name string, v json.RawMessage) {
	if r.Extra == nil {
		r.Extra = make(map[string]json.RawMessage)
	}
	r.Extra[name] = v
}

// decodeResponsesTools reads function tools; built-in tools (web_search,
// file_search…) are refused, since no upstream behind Cato runs them.
func decodeResponsesTools(raw json.RawMessage) ([]llm.Tool, error) {
	if isNull(raw) {
		return nil, nil
	}
	var wire []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, badField("tools", "must be an array of tool objects: %s", jsonErrText(err))
	}
	tools := make([]llm.Tool, len(wire))
	for i, w := range wire {
		if w.Type != "function" {
			return nil, badField(fmt.Sprintf("tools[%d].type", i), "%q is not supported: Cato offers function tools only, not OpenAI's built-in tools", w.Type)
		}
		if w.Name == "" {
			return nil, badField(fmt.Sprintf("tools[%d].name", i), "is required")
		}
		params := w.Parameters
		if isNull(params) {
			params = nil
		}
		tools[i] = llm.Tool{Name: w.Name, Description: w.Description, Parameters: params, Strict: w.Strict}
	}
	return tools, nil
}

// chatToolChoice converts a Responses tool_choice to chat completions'
// form: the modes are the same, a named function is nested.
func chatToolChoice(raw json.RawMessage) (json.RawMessage, error) {
	var mode string
	if json.Unmarshal(raw, &mode) == nil {
		switch mode {
		case "auto", "none", "required":
			return raw, nil
		}
		return nil, badField("tool_choice", "%q is not one of auto, none, required", mode)
	}
	var tc struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &tc); err != nil {
		return nil, badField("tool_choice", "must be a string or an object: %s", jsonErrText(err))
	}
	if tc.Type != "function" {
		return nil, badField("tool_choice.type", "%q is not supported: Cato offers function tools only", tc.Type)
	}
	if tc.Name == "" {
		return nil, badField("tool_choice.name", "is required")
	}
	b, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
	return b, nil
}

// wireItem is an input item as sent: any of the item types Cato reads.
type wireItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments *string         `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// decodeInput reads input: a string (one user message) or a list of items.
func decodeInput(raw json.RawMessage) ([]inputItem, error) {
	if isNull(raw) {
		return nil, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return []inputItem{{msg: &llm.Message{Role: llm.RoleUser, Content: text}}}, nil
	}
	var wire []wireItem
	if err := json.Unmarshal(raw, &wire); err != nil {
		return nil, badField("input", "must be a string or an array of input items: %s", jsonErrText(err))
	}
	items := make([]inputItem, 0, len(wire))
	for i, w := range wire {
		item, err := decodeItem(w, fmt.Sprintf("input[%d]", i))
		if err != nil {
			return nil, err
		}
		if item != (inputItem{}) {
			items = append(items, item)
		}
	}
	return items, nil
}

// decodeItem converts one item; reasoning items come back empty, since no
// chat upstream can take them back.
func decodeItem(w wireItem, param string) (inputItem, error) {
	switch w.Type {
	case "message", "":
		m, err := decodeItemMessage(w, param)
		if err != nil {
			return inputItem{}, err
		}
		return inputItem{msg: m}, nil
	case "function_call":
		if w.CallID == "" {
			return inputItem{}, badField(param+".call_id", "is required")
		}
		if w.Name == "" {
			return inputItem{}, badField(param+".name", "is required")
		}
		if w.Arguments == nil {
			return inputItem{}, badField(param+".arguments", "is required")
		}
		return inputItem{call: &llm.ToolCall{ID: w.CallID, Name: w.Name, Arguments: *w.Arguments}}, nil
	case "function_call_output":
		if w.CallID == "" {
			return inputItem{}, badField(param+".call_id", "is required")
		}
		out, err := itemText(w.Output, false)
		if err != nil {
			return inputItem{}, badField(param+".output", "%v", err)
		}
		return inputItem{msg: &llm.Message{Role: llm.RoleTool, ToolCallID: w.CallID, Content: out}}, nil
	case "item_reference":
		if w.ID == "" {
			return inputItem{}, badField(param+".id", "is required")
		}
		return inputItem{ref: w.ID}, nil
	case "reasoning":
		return inputItem{}, nil
	}
	return inputItem{}, badField(param+".type", "%q is not supported: Cato reads message, function_call, function_call_output, item_reference and reasoning items", w.Type)
}

// decodeItemMessage converts a message item. User messages keep their
// images as chat completions content parts; other roles keep text only.
func decodeItemMessage(w wireItem, param string) (*llm.Message, error) {
	switch w.Role {
	case llm.RoleUser, llm.RoleSystem, llm.RoleDeveloper, llm.RoleAssistant:
	case "":
		return nil, badField(param+".role", "is required")
	default:
		return nil, badField(param+".role", "%q is not one of user, system, developer, assistant", w.Role)
	}
	if isNull(w.Content) {
		return nil, badField(param+".content", "is required")
	}
	m := &llm.Message{Role: w.Role}
	if w.Role != llm.RoleUser {
		text, err := itemText(w.Content, w.Role == llm.RoleAssistant)
		if err != nil {
			return nil, badField(param+".content", "%v", err)
		}
		m.Content = text
		return m, nil
	}
	text, parts, err := userContent(w.Content)
	if err != nil {
		return nil, badField(param+".content", "%v", err)
	}
	m.Content, m.Parts = text, parts
	return m, nil
}

// contentPart is a content part of an input item as sent.
type contentPart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text"`
	Refusal  *string `json:"refusal"`
	ImageURL string  `json:"image_url"`
	FileID   string  `json:"file_id"`
	Detail   string  `json:"detail"`
}

// itemText returns the text of a string or of a list of text parts
// (input_text, or output_text and refusal when output is set), joined by
// newlines.
func itemText(raw json.RawMessage, output bool) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("must be a string or an array of content parts")
	}
	texts := make([]string, 0, len(parts))
	for i, p := range parts {
		switch {
		case (p.Type == "input_text" || p.Type == "output_text" || p.Type == "text") && p.Text != nil:
			texts = append(texts, *p.Text)
		case output && p.Type == "refusal" && p.Refusal != nil:
			texts = append(texts, *p.Refusal)
		default:
			return "", fmt.Errorf("part %d: %q is not supported here", i, p.Type)
		}
	}
	return strings.Join(texts, "\n"), nil
}

// userContent converts a user message's content: a string stays one; parts
// become chat completions parts (text and image_url), with their text
// joined for Cato's own use.
func userContent(raw json.RawMessage) (string, json.RawMessage, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", nil, fmt.Errorf("must be a string or an array of content parts")
	}
	type imageURL struct {
		URL    string `json:"url"`
		Detail string `json:"detail,omitempty"`
	}
	type chatPart struct {
		Type     string    `json:"type"`
		Text     *string   `json:"text,omitempty"`
		ImageURL *imageURL `json:"image_url,omitempty"`
	}
	chat := make([]chatPart, 0, len(parts))
	texts := make([]string, 0, len(parts))
	images := false
	for i, p := range parts {
		switch {
		case p.Type == "input_text" && p.Text != nil:
			chat = append(chat, chatPart{Type: "text", Text: p.Text})
			texts = append(texts, *p.Text)
		case p.Type == "input_image" && p.ImageURL != "":
			chat = append(chat, chatPart{Type: "image_url", ImageURL: &imageURL{URL: p.ImageURL, Detail: p.Detail}})
			images = true
		case p.Type == "input_image":
			return "", nil, fmt.Errorf("part %d: an input_image needs image_url (file_id is not supported)", i)
		default:
			return "", nil, fmt.Errorf("part %d: %q is not supported (input_text and input_image are)", i, p.Type)
		}
	}
	text := strings.Join(texts, "\n")
	if !images {
		return text, nil, nil
	}
	b, err := json.Marshal(chat)
	if err != nil {
		return "", nil, err
	}
	return text, b, nil
}

// References returns the ids of the items the input refers to
// (item_reference), in order.
func (r *ResponsesRequest) References() []string {
	var ids []string
	for _, it := range r.input {
		if it.ref != "" {
			ids = append(ids, it.ref)
		}
	}
	return ids
}

// Conversation returns the conversation the request continues: history
// (the stored conversation of previous_response_id, nil for none)
// followed by the input items, each item_reference replaced by what
// resolve returns for its id. Function calls are joined to the assistant
// message before them, as chat completions wants parallel calls in one
// message. The instructions are not part of it: they are not carried over
// to the next response.
func (r *ResponsesRequest) Conversation(history []llm.Message, resolve func(id string) ([]llm.Message, error)) ([]llm.Message, error) {
	msgs := append([]llm.Message(nil), history...)
	for _, it := range r.input {
		switch {
		case it.msg != nil:
			msgs = append(msgs, *it.msg)
		case it.call != nil:
			msgs = appendCall(msgs, *it.call)
		default:
			ref, err := resolve(it.ref)
			if err != nil {
				return nil, err
			}
			for _, m := range ref {
				if m.Role == llm.RoleAssistant && len(m.ToolCalls) > 0 && m.Content == "" {
					for _, c := range m.ToolCalls {
						msgs = appendCall(msgs, c)
					}
					continue
				}
				msgs = append(msgs, m)
			}
		}
	}
	if len(msgs) == 0 {
		return nil, badField("input", "is empty: there is nothing to answer")
	}
	return msgs, nil
}

// appendCall adds a function call to the assistant message that ends
// msgs, or in a new assistant message.
func appendCall(msgs []llm.Message, c llm.ToolCall) []llm.Message {
	if n := len(msgs); n > 0 && msgs[n-1].Role == llm.RoleAssistant {
		last := &msgs[n-1]
		last.ToolCalls = append(append([]llm.ToolCall(nil), last.ToolCalls...), c)
		last.Raw = nil // no longer the message as sent
		return msgs
	}
	return append(msgs, llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{c}})
}

// ChatRequest returns the chat request that answers r, given its
// conversation (see Conversation): the instructions come first, as a
// system message. max_output_tokens becomes max_completion_tokens, the
// limit OpenAI's reasoning models accept (adapters with one limit read it
// through TokenLimit).
func (r *ResponsesRequest) ChatRequest(conversation []llm.Message) *llm.Request {
	msgs := make([]llm.Message, 0, len(conversation)+1)
	if r.Instructions != "" {
		msgs = append(msgs, llm.Message{Role: llm.RoleSystem, Content: r.Instructions})
	}
	msgs = append(msgs, conversation...)
	req := &llm.Request{
		Model: r.Model, Messages: msgs, MaxCompletionTokens: r.MaxOutputTokens, Temperature: r.Temperature, TopP: r.TopP,
		Tools: r.Tools, ToolChoice: r.ToolChoice, User: r.User, IncludeUsage: r.Stream,
		HiddenStates: r.Cato.HiddenStates,
	}
	if len(r.Extra) > 0 || r.ResponseFormat != nil {
		req.Extra = make(map[string]json.RawMessage, len(r.Extra)+1)
		for k, v := range r.Extra {
			req.Extra[k] = v
		}
		if r.ResponseFormat != nil {
			req.Extra["response_format"] = r.ResponseFormat
		}
	}
	return req
}
