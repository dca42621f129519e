package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
)

// errIncomplete is returned when a stream ends before its stop event.
var errIncomplete = errors.New("stream ended before the model finished")

// converseState turns ConverseStream events into chunks. The zero value is
// ready to use.
type converseState struct {
	modelID string
	// tools maps a content block index to its tool call's index among the
	// answer's tool calls, which is how OpenAI numbers them.
	tools   map[int32]int
	stopped bool
}

// chunk translates one event; ok is false for events that carry nothing a
// client sees (a block's end).
func (s *converseState) chunk(ev types.ConverseStreamOutput) (c llm.Chunk, ok bool) {
	c.UpstreamModel = s.modelID
	switch e := ev.(type) {
	case *types.ConverseStreamOutputMemberMessageStart:
		c.Role = llm.RoleAssistant
		return c, true
	case *types.ConverseStreamOutputMemberContentBlockStart:
		tu, isTool := e.Value.Start.(*types.ContentBlockStartMemberToolUse)
		if !isTool {
			return c, false
		}
		if s.tools == nil {
			s.tools = map[int32]int{}
		}
		idx := len(s.tools)
		s.tools[aws.ToInt32(e.Value.ContentBlockIndex)] = idx
		c.ToolCalls = []llm.ToolCallDelta{{Index: idx, ID: aws.ToString(tu.Value.ToolUseId), Name: aws.ToString(tu.Value.Name)}}
		return c, true
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		switch d := e.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			c.Content = d.Value
			return c, d.Value != ""
		case *types.ContentBlockDeltaMemberToolUse:
			idx, known := s.tools[aws.ToInt32(e.Value.ContentBlockIndex)]
			if !known {
				return c, false
			}
			c.ToolCalls = []llm.ToolCallDelta{{Index: idx, Arguments: aws.ToString(d.Value.Input)}}
			return c, true
		}
		return c, false
	case *types.ConverseStreamOutputMemberMessageStop:
		s.stopped = true
		c.FinishReason = finishReason(string(e.Value.StopReason))
		return c, true
	case *types.ConverseStreamOutputMemberMetadata:
		if e.Value.Usage == nil {
			return c, false
		}
		u := tokenUsage(e.Value.Usage)
		c.Usage = &u
		return c, true
	}
	return c, false
}

// converseStream is an llm.Stream over a ConverseStream call.
type converseStream struct {
	ctx   context.Context
	model string
	es    *bedrockruntime.ConverseStreamEventStream
	state converseState
	err   error // sticky: io.EOF or the error that ended the stream
}

func newConverseStream(ctx context.Context, model, modelID string, es *bedrockruntime.ConverseStreamEventStream) *converseStream {
	return &converseStream{ctx: ctx, model: model, es: es, state: converseState{modelID: modelID}}
}

// Next implements llm.Stream.
func (s *converseStream) Next() (llm.Chunk, error) {
	for s.err == nil {
		select {
		case <-s.ctx.Done():
			s.err = classify(s.ctx, s.model, s.ctx.Err())
		case ev, open := <-s.es.Events():
			if !open {
				s.err = s.end(s.es.Err(), s.state.stopped)
				break
			}
			if c, ok := s.state.chunk(ev); ok {
				return c, nil
			}
		}
	}
	return llm.Chunk{}, s.err
}

// end is the error that ends a stream whose events ran out: the stream's
// own error, io.EOF after the stop event, or errIncomplete.
func (s *converseStream) end(err error, stopped bool) error {
	switch {
	case err != nil:
		return classify(s.ctx, s.model, err)
	case stopped:
		return io.EOF
	}
	return &provider.Error{Model: s.model, StatusCode: http.StatusBadGateway, Code: provider.CodeIncompleteStream, Retryable: true, Err: errIncomplete}
}

// Close implements llm.Stream. It ends the SDK's reader goroutine and
// releases the connection.
func (s *converseStream) Close() error {
	if s.err == nil {
		s.err = fmt.Errorf("bedrock stream: %w", io.ErrClosedPipe)
	}
	return s.es.Close()
}
