package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/awstest"
)

// frame is one event-stream frame the fake server sends.
type frame struct {
	exception bool
	typ       string
	payload   any
}

func converseFrames() []frame {
	return []frame{
		{typ: "messageStart", payload: map[string]any{"role": "assistant"}},
		{typ: "contentBlockDelta", payload: map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": "Let me "}}},
		{typ: "contentBlockDelta", payload: map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"text": "check."}}},
		{typ: "contentBlockStop", payload: map[string]any{"contentBlockIndex": 0}},
		{typ: "contentBlockStart", payload: map[string]any{"contentBlockIndex": 1, "start": map[string]any{"toolUse": map[string]any{"toolUseId": "tooluse_1", "name": "get_weather"}}}},
		{typ: "contentBlockDelta", payload: map[string]any{"contentBlockIndex": 1, "delta": map[string]any{"toolUse": map[string]any{"input": `{"city":`}}}},
		{typ: "contentBlockDelta", payload: map[string]any{"contentBlockIndex": 1, "delta": map[string]any{"toolUse": map[string]any{"input": `"Paris"}`}}}},
		{typ: "contentBlockStop", payload: map[string]any{"contentBlockIndex": 1}},
		{typ: "messageStop", payload: map[string]any{"stopReason": "tool_use"}},
		{typ: "metadata", payload: map[string]any{"usage": map[string]any{"inputTokens": 25, "outputTokens": 12, "totalTokens": 37}, "metrics": map[string]any{"latencyMs": 300}}},
	}
}

// anthropicChunk wraps one streamed Anthropic event the way
// InvokeModelWithResponseStream carries it: base64 bytes in a chunk event.
func anthropicChunk(ev string) frame {
	return frame{typ: "chunk", payload: map[string]any{"bytes": []byte(ev)}}
}

func invokeFrames() []frame {
	return []frame{
		anthropicChunk(`{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}}`),
		anthropicChunk(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		anthropicChunk(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me "}}`),
		anthropicChunk(`{"type":"ping"}`),
		anthropicChunk(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"check."}}`),
		anthropicChunk(`{"type":"content_block_stop","index":0}`),
		anthropicChunk(`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`),
		anthropicChunk(`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}`),
		anthropicChunk(`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}`),
		anthropicChunk(`{"type":"content_block_stop","index":1}`),
		anthropicChunk(`{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":12}}`),
		anthropicChunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":25,"outputTokenCount":12,"invocationLatency":300,"firstByteLatency":100}}`),
	}
}

// streamServer answers a streaming call with frames, checking the
// operation, and stops after the first exception frame.
func streamServer(t *testing.T, api string, frames []frame) *Client {
	wantOp := map[string]string{APIConverse: "converse-stream", APIInvoke: "invoke-with-response-stream"}[api]
	return fakeBedrock(t, api, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
		if call.op != wantOp || call.modelID != testModelID {
			t.Errorf("call %s on %s; want %s on %s", call.op, call.modelID, wantOp, testModelID)
		}
		if !json.Valid(call.body) {
			t.Errorf("body is not JSON: %s", call.body)
		}
		ew := awstest.StartEventStream(w)
		for _, f := range frames {
			if f.exception {
				_ = ew.Exception(f.typ, f.payload)
				return
			}
			if err := ew.Event(f.typ, f.payload); err != nil {
				t.Errorf("writing %s: %v", f.typ, err)
				return
			}
		}
	})
}

// drain reads s to its end and returns the chunks and the final error.
func drain(t *testing.T, s llm.Stream) ([]llm.Chunk, error) {
	t.Helper()
	var chunks []llm.Chunk
	for {
		c, err := s.Next()
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, c)
	}
}

func TestChatStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := testModelID
	tests := []struct {
		api    string
		frames []frame
		want   []llm.Chunk
	}{
		{APIConverse, converseFrames(), []llm.Chunk{
			{UpstreamModel: m, Role: llm.RoleAssistant},
			{UpstreamModel: m, Content: "Let me "},
			{UpstreamModel: m, Content: "check."},
			{UpstreamModel: m, ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "tooluse_1", Name: "get_weather"}}},
			{UpstreamModel: m, ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":`}}},
			{UpstreamModel: m, ToolCalls: []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}}},
			{UpstreamModel: m, FinishReason: llm.FinishToolCalls},
			{UpstreamModel: m, Usage: &llm.Usage{PromptTokens: 25, CompletionTokens: 12}},
		}},
		{APIInvoke, invokeFrames(), func() []llm.Chunk {
			b := llm.Chunk{ID: "msg_bdrk_01", UpstreamModel: "claude-3-5-haiku-20241022"}
			with := func(f func(*llm.Chunk)) llm.Chunk { c := b; f(&c); return c }
			return []llm.Chunk{
				with(func(c *llm.Chunk) { c.Role = llm.RoleAssistant }),
				with(func(c *llm.Chunk) { c.Content = "Let me " }),
				with(func(c *llm.Chunk) { c.Content = "check." }),
				with(func(c *llm.Chunk) {
					c.ToolCalls = []llm.ToolCallDelta{{Index: 0, ID: "toolu_1", Name: "get_weather"}}
				}),
				with(func(c *llm.Chunk) { c.ToolCalls = []llm.ToolCallDelta{{Index: 0, Arguments: `{"city":`}} }),
				with(func(c *llm.Chunk) { c.ToolCalls = []llm.ToolCallDelta{{Index: 0, Arguments: `"Paris"}`}} }),
				with(func(c *llm.Chunk) {
					c.FinishReason = llm.FinishToolCalls
					c.Usage = &llm.Usage{PromptTokens: 25, CompletionTokens: 12}
				}),
			}
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			c := streamServer(t, tt.api, tt.frames)
			s, err := c.ChatStream(context.Background(), weatherRequest())
			if err != nil {
				t.Fatal(err)
			}
			got, err := drain(t, s)
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v; want io.EOF", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("chunks (-want +got):\n%s", diff)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
		})
	}
}

func TestChatStreamExceptionMidStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []struct {
		name, api string
		frames    []frame
		code      provider.Code
		status    int
		retryable bool
	}{
		{"converse model stream error", APIConverse, append(converseFrames()[:3],
			frame{exception: true, typ: "modelStreamErrorException", payload: map[string]any{"message": "model crashed", "originalStatusCode": 500}}),
			"model_stream_error", 502, true},
		{"converse throttled", APIConverse, append(converseFrames()[:3],
			frame{exception: true, typ: "throttlingException", payload: map[string]any{"message": "slow down"}}),
			"throttled", 429, true},
		{"converse validation", APIConverse, append(converseFrames()[:3],
			frame{exception: true, typ: "validationException", payload: map[string]any{"message": "bad"}}),
			"invalid_request", 400, false},
		{"invoke model stream error", APIInvoke, append(invokeFrames()[:5],
			frame{exception: true, typ: "modelStreamErrorException", payload: map[string]any{"message": "model crashed"}}),
			"model_stream_error", 502, true},
		{"invoke model timeout", APIInvoke, append(invokeFrames()[:5],
			frame{exception: true, typ: "modelTimeoutException", payload: map[string]any{"message": "too slow"}}),
			"timeout", 504, true},
		{"converse cut before messageStop", APIConverse, converseFrames()[:3], "incomplete_stream", 502, true},
		{"invoke cut before message_delta", APIInvoke, invokeFrames()[:5], "incomplete_stream", 502, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := streamServer(t, tt.api, tt.frames)
			s, err := c.ChatStream(context.Background(), weatherRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := drain(t, s)
			if len(got) != 3 || got[1].Content != "Let me " || got[2].Content != "check." {
				t.Errorf("chunks before the exception = %+v; want role, \"Let me \", \"check.\"", got)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("stream ended with %v; want *provider.Error", err)
			}
			if pe.Code != tt.code || pe.StatusCode != tt.status || pe.Retryable != tt.retryable {
				t.Errorf("stream error = {%q %d retryable=%v}; want {%q %d %v}", pe.Code, pe.StatusCode, pe.Retryable, tt.code, tt.status, tt.retryable)
			}
			if _, again := s.Next(); !errors.Is(again, pe) {
				t.Errorf("Next after the error = %v; want the same error", again)
			}
		})
	}
}

func TestChatStreamCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, api := range []string{APIConverse, APIInvoke} {
		t.Run(api, func(t *testing.T) {
			frames := converseFrames()[:2]
			if api == APIInvoke {
				frames = invokeFrames()[:3]
			}
			c := fakeBedrock(t, api, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
				ew := awstest.StartEventStream(w)
				for _, f := range frames {
					_ = ew.Event(f.typ, f.payload)
				}
				<-r.Context().Done() // then stall
			})
			ctx, cancel := context.WithCancel(context.Background())
			s, err := c.ChatStream(ctx, weatherRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Next(); err != nil {
				t.Fatalf("first chunk: %v", err)
			}
			cancel()
			done := make(chan error, 1)
			go func() {
				for {
					if _, err := s.Next(); err != nil {
						done <- err
						return
					}
				}
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Next after cancel = %v; want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Next did not return after the context was cancelled")
			}
		})
	}
}
