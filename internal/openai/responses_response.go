package openai

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// Response is a Responses API answer (object "response"), as OpenAI
// documents it; the SDKs' output_text is computed client-side. Fields that
// are null while a response is in progress are pointers.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []OutputItem       `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          json.RawMessage    `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	Text               json.RawMessage    `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              json.RawMessage    `json:"tools"`
	TopP               *float64           `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *ResponseUsage     `json:"usage"`
	User               *string            `json:"user"`
	Metadata           map[string]string  `json:"metadata"`
	// Cato is Cato's own account of the request; OpenAI clients ignore it.
	Cato *Meta `json:"cato,omitempty"`
}

// ResponseError is the error of a failed response.
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponseUsage is the Responses API's token usage.
type ResponseUsage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails breaks input tokens down.
type InputTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// OutputTokensDetails breaks output tokens down.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// Output item types and statuses.
const (
	ItemMessage      = "message"
	ItemFunctionCall = "function_call"

	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

// OutputItem is one item of a response's output: an assistant message
// (Content) or a function call (CallID, Name, Arguments).
type OutputItem struct {
	Type      string
	ID        string
	Status    string
	Content   []OutputText
	CallID    string
	Name      string
	Arguments string
}

// OutputText is a message's output_text content part.
type OutputText struct {
	Text string
}

// MarshalJSON writes the part as OpenAI does, with its empty annotations.
func (p OutputText) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type        string     `json:"type"`
		Annotations []struct{} `json:"annotations"`
		Logprobs    []struct{} `json:"logprobs"`
		Text        string     `json:"text"`
	}{"output_text", []struct{}{}, []struct{}{}, p.Text})
}

// MarshalJSON writes the item with the fields of its type.
func (it OutputItem) MarshalJSON() ([]byte, error) {
	if it.Type == ItemFunctionCall {
		return json.Marshal(struct {
			Type      string `json:"type"`
			ID        string `json:"id"`
			Status    string `json:"status"`
			Arguments string `json:"arguments"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
		}{it.Type, it.ID, it.Status, it.Arguments, it.CallID, it.Name})
	}
	content := it.Content
	if content == nil {
		content = []OutputText{}
	}
	return json.Marshal(struct {
		Type    string       `json:"type"`
		ID      string       `json:"id"`
		Status  string       `json:"status"`
		Role    string       `json:"role"`
		Content []OutputText `json:"content"`
	}{ItemMessage, it.ID, it.Status, llm.RoleAssistant, content})
}

// UnmarshalJSON reads an item written by MarshalJSON (a stored response).
func (it *OutputItem) UnmarshalJSON(b []byte) error {
	var w struct {
		Type      string `json:"type"`
		ID        string `json:"id"`
		Status    string `json:"status"`
		Arguments string `json:"arguments"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Content   []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*it = OutputItem{Type: w.Type, ID: w.ID, Status: w.Status, Arguments: w.Arguments, CallID: w.CallID, Name: w.Name}
	for _, c := range w.Content {
		it.Content = append(it.Content, OutputText{Text: c.Text})
	}
	return nil
}

// text returns the text of a message item.
func (it *OutputItem) text() string {
	var b strings.Builder
	for _, c := range it.Content {
		b.WriteString(c.Text)
	}
	return b.String()
}

// NewResponseID returns a new response id: "resp_" and 32 random hex
// digits, unguessable so that it can name a stored response.
func NewResponseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "resp_" + hex.EncodeToString(b[:])
}

// itemID returns the id of output item n of response respID: the item's
// prefix, the response id's random part and n, so that an item_reference
// leads back to the response that holds the item (ResponseOfItem).
func itemID(prefix, respID string, n int) string {
	return prefix + "_" + strings.TrimPrefix(respID, "resp_") + "_" + strconv.Itoa(n)
}

// ResponseOfItem returns the id of the response that holds the output item
// id, for an item_reference; false when id is not an item id of Cato's.
func ResponseOfItem(id string) (string, bool) {
	prefix, rest, ok := strings.Cut(id, "_")
	if !ok || (prefix != "msg" && prefix != "fc") {
		return "", false
	}
	i := strings.LastIndexByte(rest, '_')
	if i <= 0 {
		return "", false
	}
	if _, err := strconv.Atoi(rest[i+1:]); err != nil {
		return "", false
	}
	return "resp_" + rest[:i], true
}

// NewResponse returns the response object of req with no output yet, in
// progress: what response.created carries, and the base of the final
// object.
func NewResponse(id string, createdAt int64, model string, req *ResponsesRequest) *Response {
	r := &Response{
		ID: id, Object: "response", CreatedAt: createdAt, Status: StatusInProgress, Model: model,
		Output: []OutputItem{}, ParallelToolCalls: true, Store: req.Store,
		Temperature: req.Temperature, TopP: req.TopP, Truncation: "disabled",
		Reasoning:  json.RawMessage(`{"effort":null,"summary":null}`),
		Text:       json.RawMessage(`{"format":{"type":"text"}}`),
		ToolChoice: json.RawMessage(`"auto"`),
		Tools:      json.RawMessage(`[]`),
		Metadata:   req.Metadata,
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if req.Instructions != "" {
		r.Instructions = &req.Instructions
	}
	if req.MaxOutputTokens > 0 {
		n := req.MaxOutputTokens
		r.MaxOutputTokens = &n
	}
	if req.ParallelToolCalls != nil {
		r.ParallelToolCalls = *req.ParallelToolCalls
	}
	if req.PreviousResponseID != "" {
		r.PreviousResponseID = &req.PreviousResponseID
	}
	if req.User != "" {
		r.User = &req.User
	}
	if req.echo.truncation != "" {
		r.Truncation = req.echo.truncation
	}
	for dst, src := range map[*json.RawMessage]json.RawMessage{
		&r.Reasoning: req.echo.reasoning, &r.Text: req.echo.text, &r.ToolChoice: req.echo.toolChoice, &r.Tools: req.echo.tools,
	} {
		if src != nil {
			*dst = src
		}
	}
	return r
}

// Complete sets the output, status and usage of r from a complete answer.
func (r *Response) Complete(ans *llm.Response) {
	status, reason := finishStatus(ans.FinishReason)
	r.Output = r.Output[:0]
	if ans.Message.Content != "" || len(ans.Message.ToolCalls) == 0 {
		r.Output = append(r.Output, OutputItem{
			Type: ItemMessage, ID: itemID("msg", r.ID, 0), Status: status,
			Content: []OutputText{{Text: ans.Message.Content}},
		})
	}
	for _, tc := range ans.Message.ToolCalls {
		n := len(r.Output)
		r.Output = append(r.Output, OutputItem{
			Type: ItemFunctionCall, ID: itemID("fc", r.ID, n), Status: StatusCompleted,
			CallID: callID(tc.ID, r.ID, n), Name: tc.Name, Arguments: tc.Arguments,
		})
	}
	r.finish(status, reason, ans.Usage)
}

// callID returns the upstream's call id, or one made up for an upstream
// that gave none.
func callID(id, respID string, n int) string {
	if id != "" {
		return id
	}
	return itemID("call", respID, n)
}

// finish sets the final status and usage.
func (r *Response) finish(status, reason string, u llm.Usage) {
	r.Status = status
	if reason != "" {
		r.IncompleteDetails = &IncompleteDetails{Reason: reason}
	}
	r.Usage = ResponseUsageOf(u)
}

// finishStatus maps a chat finish reason to a response status and, for an
// incomplete one, its reason.
func finishStatus(finish string) (string, string) {
	switch finish {
	case llm.FinishLength:
		return StatusIncomplete, "max_output_tokens"
	case llm.FinishFilter:
		return StatusIncomplete, "content_filter"
	}
	return StatusCompleted, ""
}

// ResponseUsageOf converts llm.Usage to the Responses API's usage.
func ResponseUsageOf(u llm.Usage) *ResponseUsage {
	return &ResponseUsage{
		InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.Total(),
		InputTokensDetails:  InputTokensDetails{CachedTokens: u.CachedTokens},
		OutputTokensDetails: OutputTokensDetails{ReasoningTokens: u.ReasoningTokens},
	}
}

// OutputText returns the text of r's message items, as the SDKs'
// output_text.
func (r *Response) OutputText() string {
	var b strings.Builder
	for i := range r.Output {
		if r.Output[i].Type == ItemMessage {
			b.WriteString(r.Output[i].text())
		}
	}
	return b.String()
}

// StoredResponse is what Cato keeps of a stored response, for
// previous_response_id and item_reference: the conversation that led to it
// (without its instructions, which are not carried over) and its output.
type StoredResponse struct {
	Conversation []llm.Message
	Output       []OutputItem
}

// storedRecord is the JSON form of a StoredResponse; the conversation is
// kept as chat completions messages.
type storedRecord struct {
	Messages json.RawMessage `json:"messages"`
	Output   []OutputItem    `json:"output"`
}

// Marshal returns the stored form of s. Its messages are written as
// EncodeRequest writes them for an upstream.
func (s *StoredResponse) Marshal() ([]byte, error) {
	msgs := []byte{'['}
	for i := range s.Conversation {
		if i > 0 {
			msgs = append(msgs, ',')
		}
		var err error
		if msgs, err = appendMessage(msgs, &s.Conversation[i]); err != nil {
			return nil, err
		}
	}
	msgs = append(msgs, ']')
	return json.Marshal(storedRecord{Messages: msgs, Output: s.Output})
}

// UnmarshalStoredResponse reads what Marshal wrote. The messages are
// Cato's own, not a client's as sent: they have no Raw, so that whoever
// continues the conversation may change them (a call joined to the last
// assistant message).
func UnmarshalStoredResponse(b []byte) (*StoredResponse, error) {
	var rec storedRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("reading a stored response: %w", err)
	}
	msgs, err := decodeMessages(rec.Messages)
	if err != nil {
		return nil, fmt.Errorf("reading a stored response's conversation: %w", err)
	}
	for i := range msgs {
		msgs[i].Raw = nil
	}
	return &StoredResponse{Conversation: msgs, Output: rec.Output}, nil
}

// Messages returns the conversation with the response's output appended:
// what previous_response_id continues.
func (s *StoredResponse) Messages() []llm.Message {
	msgs := append([]llm.Message(nil), s.Conversation...)
	for i := range s.Output {
		msgs = appendOutput(msgs, &s.Output[i])
	}
	return msgs
}

// Item returns the messages of the output item id; false when s has no
// such item.
func (s *StoredResponse) Item(id string) ([]llm.Message, bool) {
	for i := range s.Output {
		if s.Output[i].ID == id {
			return appendOutput(nil, &s.Output[i]), true
		}
	}
	return nil, false
}

// appendOutput adds an output item to msgs as chat completions has it: a
// message's text as an assistant message, a function call joined to the
// assistant message before it.
func appendOutput(msgs []llm.Message, it *OutputItem) []llm.Message {
	if it.Type == ItemFunctionCall {
		return appendCall(msgs, llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments})
	}
	return append(msgs, llm.Message{Role: llm.RoleAssistant, Content: it.text()})
}
