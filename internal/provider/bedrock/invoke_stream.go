package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
)

// messagesEvent is one event of a streamed Anthropic Messages answer, the
// bytes of an InvokeModelWithResponseStream chunk.
type messagesEvent struct {
	Type         string            `json:"type"`
	Message      *messagesResponse `json:"message"`
	Index        int               `json:"index"`
	ContentBlock *messagesBlock    `json:"content_block"`
	Delta        struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *messagesUsage `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// messagesState turns streamed Anthropic events into chunks. The zero value
// is ready to use.
type messagesState struct {
	id, model string
	input     llm.Usage   // the prompt's counts, from message_start
	tools     map[int]int // content block index → tool call index
	stopped   bool
}

// chunk translates the bytes of one event. ok is false for events that
// carry nothing a client sees; an "error" event is returned as an error.
func (s *messagesState) chunk(raw []byte) (c llm.Chunk, ok bool, err error) {
	var ev messagesEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return c, false, fmt.Errorf("decoding a streamed Anthropic event: %w", err)
	}
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			s.id, s.model = ev.Message.ID, ev.Message.Model
			s.input = ev.Message.Usage.usage()
		}
		c = s.base()
		c.Role = llm.RoleAssistant
		return c, true, nil
	case "content_block_start":
		if ev.ContentBlock == nil || ev.ContentBlock.Type != "tool_use" {
			if ev.ContentBlock != nil && ev.ContentBlock.Text != "" {
				c = s.base()
				c.Content = ev.ContentBlock.Text
				return c, true, nil
			}
			return c, false, nil
		}
		if s.tools == nil {
			s.tools = map[int]int{}
		}
		idx := len(s.tools)
		s.tools[ev.Index] = idx
		c = s.base()
		c.ToolCalls = []llm.ToolCallDelta{{Index: idx, ID: ev.ContentBlock.ID, Name: ev.ContentBlock.Name}}
		return c, true, nil
	case "content_block_delta":
		c = s.base()
		switch ev.Delta.Type {
		case "text_delta":
			c.Content = ev.Delta.Text
			return c, c.Content != "", nil
		case "input_json_delta":
			idx, known := s.tools[ev.Index]
			if !known || ev.Delta.PartialJSON == "" {
				return c, false, nil
			}
			c.ToolCalls = []llm.ToolCallDelta{{Index: idx, Arguments: ev.Delta.PartialJSON}}
			return c, true, nil
		}
		return c, false, nil
	case "message_delta":
		s.stopped = true
		c = s.base()
		c.FinishReason = finishReason(ev.Delta.StopReason)
		if ev.Usage != nil {
			u := llm.Usage{PromptTokens: s.input.PromptTokens, CompletionTokens: ev.Usage.OutputTokens, CachedTokens: s.input.CachedTokens}
			c.Usage = &u
		}
		return c, true, nil
	case "error":
		msg, typ := "unknown error", "error"
		if ev.Error != nil {
			msg, typ = ev.Error.Message, ev.Error.Type
		}
		return c, false, fmt.Errorf("%s: %s", typ, msg)
	}
	return c, false, nil // ping, content_block_stop, message_stop
}

func (s *messagesState) base() llm.Chunk { return llm.Chunk{ID: s.id, UpstreamModel: s.model} }

// messagesStream is an llm.Stream over an InvokeModelWithResponseStream
// call.
type messagesStream struct {
	ctx   context.Context
	model string
	es    *bedrockruntime.InvokeModelWithResponseStreamEventStream
	state messagesState
	err   error // sticky: io.EOF or the error that ended the stream
}

// Next implements llm.Stream.
func (s *messagesStream) Next() (llm.Chunk, error) {
	for s.err == nil {
		select {
		case <-s.ctx.Done():
			s.err = classify(s.ctx, s.model, s.ctx.Err())
		case ev, open := <-s.es.Events():
			if !open {
				s.err = s.end(s.es.Err())
				break
			}
			part, isChunk := ev.(*types.ResponseStreamMemberChunk)
			if !isChunk {
				continue
			}
			c, ok, err := s.state.chunk(part.Value.Bytes)
			if err != nil {
				s.err = &provider.Error{Model: s.model, StatusCode: http.StatusBadGateway, Code: provider.CodeModelStreamError, Retryable: true, Err: err}
				break
			}
			if ok {
				return c, nil
			}
		}
	}
	return llm.Chunk{}, s.err
}

func (s *messagesStream) end(err error) error {
	switch {
	case err != nil:
		return classify(s.ctx, s.model, err)
	case s.state.stopped:
		return io.EOF
	}
	return &provider.Error{Model: s.model, StatusCode: http.StatusBadGateway, Code: provider.CodeIncompleteStream, Retryable: true, Err: errIncomplete}
}

// Close implements llm.Stream.
func (s *messagesStream) Close() error {
	if s.err == nil {
		s.err = fmt.Errorf("bedrock stream: %w", io.ErrClosedPipe)
	}
	return s.es.Close()
}
