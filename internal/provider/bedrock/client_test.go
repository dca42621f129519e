package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
)

func ptr[T any](v T) *T { return &v }

func weatherRequest() *llm.Request {
	return &llm.Request{
		Model: "bedrock_haiku",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "Be brief."},
			{Role: llm.RoleUser, Content: "Weather in Paris?"},
		},
		MaxTokens:   200,
		Temperature: ptr(0.5),
		Stop:        []string{"END"},
		Tools: []llm.Tool{{Name: "get_weather", Description: "Current weather",
			Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}},
	}
}

func TestConverse(t *testing.T) {
	c := fakeBedrock(t, APIConverse, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
		if call.op != "converse" || call.modelID != testModelID {
			t.Errorf("call %s on %s; want converse on %s", call.op, call.modelID, testModelID)
		}
		var got map[string]any
		if err := json.Unmarshal(call.body, &got); err != nil {
			t.Errorf("body %s: %v", call.body, err)
		}
		want := map[string]any{
			"system":          []any{map[string]any{"text": "Be brief."}},
			"messages":        []any{map[string]any{"role": "user", "content": []any{map[string]any{"text": "Weather in Paris?"}}}},
			"inferenceConfig": map[string]any{"maxTokens": 200.0, "temperature": 0.5, "stopSequences": []any{"END"}},
			"toolConfig": map[string]any{"tools": []any{map[string]any{"toolSpec": map[string]any{
				"name": "get_weather", "description": "Current weather",
				"inputSchema": map[string]any{"json": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}}},
			}}}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Converse body (-want +got):\n%s", diff)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"output":{"message":{"role":"assistant","content":[
			{"text":"Let me check."},
			{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}}]}},
			"stopReason":"tool_use","usage":{"inputTokens":25,"outputTokens":12,"totalTokens":37},"metrics":{"latencyMs":300}}`))
	})
	got, err := c.Chat(context.Background(), weatherRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.Response{
		UpstreamModel: testModelID,
		Message: llm.Message{Role: llm.RoleAssistant, Content: "Let me check.",
			ToolCalls: []llm.ToolCall{{ID: "tooluse_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		FinishReason: llm.FinishToolCalls,
		Usage:        llm.Usage{PromptTokens: 25, CompletionTokens: 12},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chat (-want +got):\n%s", diff)
	}
}

func TestInvoke(t *testing.T) {
	c := fakeBedrock(t, APIInvoke, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
		if call.op != "invoke" || call.modelID != testModelID {
			t.Errorf("call %s on %s; want invoke on %s", call.op, call.modelID, testModelID)
		}
		if ct := call.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q; want application/json", ct)
		}
		var got map[string]any
		if err := json.Unmarshal(call.body, &got); err != nil {
			t.Errorf("body %s: %v", call.body, err)
		}
		want := map[string]any{
			"anthropic_version": "bedrock-2023-05-31",
			"max_tokens":        200.0,
			"system":            "Be brief.",
			"messages":          []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Weather in Paris?"}}}},
			"temperature":       0.5,
			"stop_sequences":    []any{"END"},
			"tools": []any{map[string]any{"name": "get_weather", "description": "Current weather",
				"input_schema": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}}}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("InvokeModel body (-want +got):\n%s", diff)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
			"content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
			"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":12}}`))
	})
	got, err := c.Chat(context.Background(), weatherRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := &llm.Response{
		ID: "msg_bdrk_01", UpstreamModel: "claude-3-5-haiku-20241022",
		Message: llm.Message{Role: llm.RoleAssistant, Content: "Let me check.",
			ToolCalls: []llm.ToolCall{{ID: "toolu_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		FinishReason: llm.FinishToolCalls,
		Usage:        llm.Usage{PromptTokens: 25, CompletionTokens: 12},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chat (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		code      string
		status    int
		wantCode  provider.Code
		wantHTTP  int
		retryable bool
	}{
		{"ThrottlingException", 429, "throttled", 429, true},
		{"ValidationException", 400, "invalid_request", 400, false},
		{"ModelTimeoutException", 408, "timeout", 504, true},
		{"ServiceUnavailableException", 503, "unavailable", 503, true},
		{"InternalServerException", 500, "internal_error", 500, true},
		{"AccessDeniedException", 403, "access_denied", 403, false},
		{"ResourceNotFoundException", 404, "model_not_found", 404, false},
		{"ModelNotReadyException", 429, "model_not_ready", 429, true},
		{"ServiceQuotaExceededException", 400, "quota_exceeded", 429, false},
		{"ModelErrorException", 424, "model_error", 502, false},
	}
	for _, api := range []string{APIConverse, APIInvoke} {
		for _, stream := range []bool{false, true} {
			for _, tt := range tests {
				name := api + "/" + tt.code
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					c := fakeBedrock(t, api, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
						writeAWSError(w, tt.status, tt.code, "no luck")
					})
					var err error
					if stream {
						_, err = c.ChatStream(context.Background(), weatherRequest())
					} else {
						_, err = c.Chat(context.Background(), weatherRequest())
					}
					var pe *provider.Error
					if !errors.As(err, &pe) {
						t.Fatalf("error = %v (%T); want *provider.Error", err, err)
					}
					if pe.StatusCode != tt.wantHTTP || pe.Code != tt.wantCode || pe.Retryable != tt.retryable || pe.Model != "bedrock_haiku" {
						t.Errorf("error = {%d %q retryable=%v model=%q}; want {%d %q %v bedrock_haiku}",
							pe.StatusCode, pe.Code, pe.Retryable, pe.Model, tt.wantHTTP, tt.wantCode, tt.retryable)
					}
				})
			}
		}
	}
}

func TestBadRequestNeverReachesBedrock(t *testing.T) {
	c := fakeBedrock(t, APIConverse, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
		t.Errorf("Bedrock was called with %s", call.body)
	})
	req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleAssistant, Content: "I start"}, {Role: llm.RoleUser, Content: "hi"}}}
	for _, call := range []func() error{
		func() error { _, err := c.Chat(context.Background(), req); return err },
		func() error { _, err := c.ChatStream(context.Background(), req); return err },
	} {
		err := call()
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.StatusCode != 400 || pe.Retryable {
			t.Errorf("error = %v; want a non-retryable 400 provider.Error", err)
		}
	}
}

func TestCancelAbortsCall(t *testing.T) {
	for _, api := range []string{APIConverse, APIInvoke} {
		t.Run(api, func(t *testing.T) {
			arrived := make(chan struct{})
			c := fakeBedrock(t, api, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
				close(arrived)
				<-r.Context().Done() // stall until the client gives up
			})
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-arrived; cancel() }()
			done := make(chan error, 1)
			go func() { _, err := c.Chat(ctx, weatherRequest()); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Chat after cancel = %v; want context.Canceled", err)
				}
				var pe *provider.Error
				if !errors.As(err, &pe) || pe.Retryable {
					t.Errorf("Chat after cancel = %v; want a non-retryable provider.Error", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Chat did not return after its context was cancelled")
			}
		})
	}
}

// TestMoreThanOneChoiceRefused: Bedrock answers with one choice, so n > 1
// is the client's 400 naming n, never a silent single answer.
func TestMoreThanOneChoiceRefused(t *testing.T) {
	for _, api := range []string{APIConverse, APIInvoke} {
		c := fakeBedrock(t, api, func(w http.ResponseWriter, r *http.Request, call bedrockCall) {
			t.Errorf("Bedrock was called with %s", call.body)
		})
		req := &llm.Request{N: 2, Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}
		for _, call := range []func() error{
			func() error { _, err := c.Chat(context.Background(), req); return err },
			func() error { _, err := c.ChatStream(context.Background(), req); return err },
		} {
			var pe *provider.Error
			if err := call(); !errors.As(err, &pe) || pe.StatusCode != 400 || pe.Param != "n" || pe.Retryable {
				t.Errorf("%s: error = %v; want a non-retryable 400 naming n", api, err)
			}
		}
	}
}
