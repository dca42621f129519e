package sagemaker

import (
	"context"
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

// Streamed answers as each container sends them.
const (
	sglangSSE = `data: {"text":"I am","meta_info":{"id":"r1","finish_reason":null,"prompt_tokens":20,"completion_tokens":2}}

data: {"text":"I am the shadow","meta_info":{"id":"r1","finish_reason":null,"prompt_tokens":20,"completion_tokens":4}}

data: {"text":"I am the shadow self.","meta_info":{"id":"r1","finish_reason":{"type":"stop"},"prompt_tokens":20,"completion_tokens":6,"hidden_states":` + sglangHidden + `}}

data: [DONE]

`
	openaiSSE = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"I am"},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" vLLM."},"finish_reason":null}]}

data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":null,"hidden_states":[0.5,0.25]}]}

data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":4,"total_tokens":24}}

data: [DONE]

`
	tgiSSE = `data:{"index":1,"token":{"id":40,"text":"I am","logprob":-0.1,"special":false},"generated_text":null,"details":null}

data:{"index":2,"token":{"id":41,"text":" TGI.","logprob":-0.2,"special":false},"generated_text":null,"details":null}

data:{"index":3,"token":{"id":2,"text":"</s>","logprob":-0.01,"special":true},"generated_text":"I am TGI.","details":{"finish_reason":"eos_token","generated_tokens":3,"seed":null,"input_length":20}}

`
)

func TestChatStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ep := testEndpoint
	hs := &llm.HiddenStates{Model: "shadow_self", Layer: -1, Pooling: "last_token", Dim: 3, Values: []float32{7, 8, 9}}
	tests := []struct {
		name   string
		model  Options
		hidden bool
		sse    string
		want   []llm.Chunk
	}{
		{"sglang", Options{Payload: PayloadSGLang}, true, sglangSSE, []llm.Chunk{
			{ID: "r1", UpstreamModel: ep, Role: llm.RoleAssistant, Content: "I am"},
			{ID: "r1", UpstreamModel: ep, Content: " the shadow"},
			{ID: "r1", UpstreamModel: ep, Content: " self."},
			{ID: "r1", UpstreamModel: ep, FinishReason: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 20, CompletionTokens: 6}, HiddenStates: hs},
		}},
		{"sglang without hidden states asked", Options{Payload: PayloadSGLang}, false, sglangSSE, []llm.Chunk{
			{ID: "r1", UpstreamModel: ep, Role: llm.RoleAssistant, Content: "I am"},
			{ID: "r1", UpstreamModel: ep, Content: " the shadow"},
			{ID: "r1", UpstreamModel: ep, Content: " self."},
			{ID: "r1", UpstreamModel: ep, FinishReason: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 20, CompletionTokens: 6}},
		}},
		{"openai", Options{Payload: PayloadOpenAI}, true, openaiSSE, []llm.Chunk{
			{ID: "c1", UpstreamModel: ep, Role: llm.RoleAssistant, Content: "I am"},
			{ID: "c1", UpstreamModel: ep, Content: " vLLM."},
			{ID: "c1", UpstreamModel: ep, FinishReason: llm.FinishStop},
			{ID: "c1", UpstreamModel: ep, Usage: &llm.Usage{PromptTokens: 20, CompletionTokens: 4}},
			{UpstreamModel: ep, HiddenStates: &llm.HiddenStates{Model: "shadow_self", Layer: -1, Pooling: "last_token", Dim: 2, Values: []float32{0.5, 0.25}}},
		}},
		{"tgi", Options{Payload: PayloadTGI}, false, tgiSSE, []llm.Chunk{
			{UpstreamModel: ep, Role: llm.RoleAssistant, Content: "I am"},
			{UpstreamModel: ep, Content: " TGI."},
			{UpstreamModel: ep, FinishReason: llm.FinishStop, Usage: &llm.Usage{PromptTokens: 20, CompletionTokens: 3}},
		}},
	}
	for _, tt := range tests {
		for _, size := range []int{7, 1 << 20} {
			t.Run(tt.name, func(t *testing.T) {
				c := fakeSageMaker(t, tt.model, func(w http.ResponseWriter, r *http.Request, call smCall) {
					if call.op != "invocations-response-stream" {
						t.Errorf("op = %s; want invocations-response-stream", call.op)
					}
					if got := call.header.Get("X-Amzn-SageMaker-Accept"); got != "text/event-stream" {
						t.Errorf("X-Amzn-SageMaker-Accept = %q; want text/event-stream", got)
					}
					if err := writeParts(awstest.StartEventStream(w), tt.sse, size); err != nil {
						t.Error(err)
					}
				})
				s, err := c.ChatStream(context.Background(), testRequest(tt.hidden))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				got, err := drain(s)
				if !errors.Is(err, io.EOF) {
					t.Errorf("stream ended with %v; want io.EOF", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("chunks, parts of %d bytes (-want +got):\n%s", size, diff)
				}
			})
		}
	}
}

func drain(s llm.Stream) ([]llm.Chunk, error) {
	var chunks []llm.Chunk
	for {
		c, err := s.Next()
		if err != nil {
			return chunks, err
		}
		chunks = append(chunks, c)
	}
}

func TestChatStreamErrorMidStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	first := sglangSSE[:len(`data: {"text":"I am","meta_info":{"id":"r1","finish_reason":null,"prompt_tokens":20,"completion_tokens":2}}`)+2]
	tests := []struct {
		name      string
		exception string
		payload   any
		code      provider.Code
		retryable bool
	}{
		{"model stream error", "ModelStreamError", map[string]any{"Message": "CUDA out of memory", "ErrorCode": "ModelStreamError"}, "model_stream_error", true},
		{"internal stream failure", "InternalStreamFailure", map[string]any{"Message": "stream broke"}, "internal_stream_failure", true},
		{"cut off", "", nil, "incomplete_stream", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeSageMaker(t, Options{}, func(w http.ResponseWriter, r *http.Request, call smCall) {
				ew := awstest.StartEventStream(w)
				_ = writeParts(ew, first, 1<<20)
				if tt.exception != "" {
					_ = ew.Exception(tt.exception, tt.payload)
				}
			})
			s, err := c.ChatStream(context.Background(), testRequest(false))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got, err := drain(s)
			if len(got) != 1 || got[0].Content != "I am" {
				t.Errorf("chunks before the error = %+v; want the first one", got)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Code != tt.code || pe.Retryable != tt.retryable || pe.StatusCode != 502 {
				t.Errorf("stream ended with %v; want a 502 %s (retryable %v)", err, tt.code, tt.retryable)
			}
		})
	}
}

func TestChatStreamCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Run("sglang", testChatStreamCancel)
}

func testChatStreamCancel(t *testing.T) {
	c := fakeSageMaker(t, Options{}, func(w http.ResponseWriter, r *http.Request, call smCall) {
		_ = writeParts(awstest.StartEventStream(w), sglangSSE[:120], 1<<20)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.ChatStream(ctx, testRequest(false))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { _, err := drain(s); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next after cancel = %v; want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after the context was cancelled")
	}
}
