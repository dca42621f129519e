package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithydocument "github.com/aws/smithy-go/document"

	"github.com/cato-gateway/cato/internal/llm"
)

// EmptyToolResult is the text sent to Converse for a tool message without
// content: Converse requires a tool result to have content and rejects
// blank text.
const EmptyToolResult = "(empty)"

// converseParts are the fields ConverseInput and ConverseStreamInput share.
type converseParts struct {
	system    []types.SystemContentBlock
	messages  []types.Message
	inference *types.InferenceConfiguration
	tools     *types.ToolConfiguration
}

// toConverse translates c into the parts of a Converse request.
func toConverse(c *conversation) (converseParts, error) {
	var p converseParts
	for _, s := range c.system {
		p.system = append(p.system, &types.SystemContentBlockMemberText{Value: s})
	}
	for _, t := range c.turns {
		m := types.Message{Role: types.ConversationRole(t.role)}
		for _, b := range t.blocks {
			switch b.kind {
			case textBlock:
				m.Content = append(m.Content, &types.ContentBlockMemberText{Value: b.text})
			case toolUseBlock:
				input, err := jsonDocument(b.input)
				if err != nil {
					return p, fmt.Errorf("tool call %s arguments: %w", b.toolID, err)
				}
				m.Content = append(m.Content, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
					ToolUseId: aws.String(b.toolID), Name: aws.String(b.toolName), Input: input,
				}})
			case toolResultBlock:
				// A result needs content, and Converse rejects blank text.
				text := b.text
				if strings.TrimSpace(text) == "" {
					text = EmptyToolResult
				}
				content := []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: text}}
				m.Content = append(m.Content, &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
					ToolUseId: aws.String(b.toolID), Content: content,
				}})
			}
		}
		p.messages = append(p.messages, m)
	}
	p.inference = &types.InferenceConfiguration{MaxTokens: aws.Int32(int32(min(c.maxTokens, 1<<31-1)))}
	if c.temperature != nil {
		p.inference.Temperature = aws.Float32(float32(*c.temperature))
	}
	if c.topP != nil {
		p.inference.TopP = aws.Float32(float32(*c.topP))
	}
	p.inference.StopSequences = c.stop
	if len(c.tools) > 0 {
		p.tools = &types.ToolConfiguration{}
		for _, t := range c.tools {
			schema, err := jsonDocument(t.Parameters)
			if err != nil {
				return p, fmt.Errorf("tool %s parameters: %w", t.Name, err)
			}
			spec := types.ToolSpecification{Name: aws.String(t.Name), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}
			if t.Description != "" {
				spec.Description = aws.String(t.Description)
			}
			p.tools.Tools = append(p.tools.Tools, &types.ToolMemberToolSpec{Value: spec})
		}
		switch c.toolChoice.mode {
		case "any":
			p.tools.ToolChoice = &types.ToolChoiceMemberAny{}
		case "tool":
			p.tools.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(c.toolChoice.name)}}
		}
	}
	return p, nil
}

func (p converseParts) input(modelID string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(modelID), System: p.system, Messages: p.messages, InferenceConfig: p.inference, ToolConfig: p.tools}
}

func (p converseParts) streamInput(modelID string) *bedrockruntime.ConverseStreamInput {
	return &bedrockruntime.ConverseStreamInput{ModelId: aws.String(modelID), System: p.system, Messages: p.messages, InferenceConfig: p.inference, ToolConfig: p.tools}
}

// jsonDocument turns JSON text into an SDK document, keeping numbers exact.
func jsonDocument(raw json.RawMessage) (document.Interface, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return document.NewLazyDocument(smithyNumbers(v)), nil
}

// smithyNumbers replaces json.Number, which the SDK would encode as a
// string, by smithy's document.Number.
func smithyNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return smithydocument.Number(x)
	case map[string]any:
		for k, e := range x {
			x[k] = smithyNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = smithyNumbers(e)
		}
	}
	return v
}

// documentJSON returns a document as JSON text; a nil document is "{}".
func documentJSON(d document.Interface) (string, error) {
	if d == nil {
		return "{}", nil
	}
	b, err := d.MarshalSmithyDocument()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// fromConverse translates a Converse answer.
func fromConverse(modelID string, out *bedrockruntime.ConverseOutput) (*llm.Response, error) {
	r := &llm.Response{UpstreamModel: modelID, Message: llm.Message{Role: llm.RoleAssistant}}
	if msg, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		var text strings.Builder
		for _, cb := range msg.Value.Content {
			switch b := cb.(type) {
			case *types.ContentBlockMemberText:
				text.WriteString(b.Value)
			case *types.ContentBlockMemberToolUse:
				args, err := documentJSON(b.Value.Input)
				if err != nil {
					return nil, fmt.Errorf("reading tool call arguments: %w", err)
				}
				r.Message.ToolCalls = append(r.Message.ToolCalls, llm.ToolCall{
					ID: aws.ToString(b.Value.ToolUseId), Name: aws.ToString(b.Value.Name), Arguments: args,
				})
			}
		}
		r.Message.Content = text.String()
	}
	r.FinishReason = finishReason(string(out.StopReason))
	r.Usage = tokenUsage(out.Usage)
	return r, nil
}

// tokenUsage reads Bedrock's token counts; prompt tokens include those read
// from or written to the prompt cache, and those read are its cached
// tokens, as OpenAI counts them.
func tokenUsage(u *types.TokenUsage) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	n := func(p *int32) int { return int(aws.ToInt32(p)) }
	return llm.Usage{
		PromptTokens:     n(u.InputTokens) + n(u.CacheReadInputTokens) + n(u.CacheWriteInputTokens),
		CompletionTokens: n(u.OutputTokens),
		CachedTokens:     n(u.CacheReadInputTokens),
	}
}

// finishReason maps a Bedrock (Converse or Anthropic) stop reason to
// OpenAI's finish reason.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "guardrail_intervened", "content_filtered", "refusal":
		return llm.FinishFilter
	case "":
		return ""
	}
	return llm.FinishStop // end_turn, stop_sequence, pause_turn, malformed output
}
