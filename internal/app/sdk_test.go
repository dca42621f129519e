package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// TestOfficialSDK points the official OpenAI Go SDK at Cato, as a user
// would, and checks that both calls work unchanged.
func TestOfficialSDK(t *testing.T) {
	base := gateway(t, simConfig, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	client := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("key-a"), option.WithMaxRetries(0))
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:    "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is 6*7?")},
	}

	c, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatalf("Chat.Completions.New: %v", err)
	}
	if len(c.Choices) != 1 || !strings.HasPrefix(c.Choices[0].Message.Content, "42") {
		t.Fatalf("answer = %+v; want one choice starting with 42", c.Choices)
	}
	if c.Usage.TotalTokens == 0 {
		t.Error("usage.total_tokens = 0; want the simulated usage")
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if chunks < 3 {
		t.Errorf("chunks = %d; want the answer streamed in several chunks", chunks)
	}
	if got := acc.Choices[0].Message.Content; !strings.HasPrefix(got, "42") {
		t.Errorf("streamed answer = %q; want it to start with 42", got)
	}
	if acc.Usage.TotalTokens == 0 {
		t.Error("streamed usage.total_tokens = 0; want usage with include_usage")
	}

	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "no-such-model",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if err == nil || !asError(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model error = %v; want a 404 model_not_found the SDK understands", err)
	}
}

// sdkUpstream is an OpenAI-compatible upstream that answers as OpenAI
// would for what each request asks: a JSON object for a json_schema
// response format, parallel tool calls (content null) when tools are
// offered, n choices, prose otherwise. It records each request's body.
func sdkUpstream(t *testing.T) (*httptest.Server, func() []map[string]json.RawMessage) {
	var mu sync.Mutex
	var bodies []map[string]json.RawMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("upstream body: %v", err)
		}
		mu.Lock()
		bodies = append(bodies, req)
		mu.Unlock()
		message := `{"role":"assistant","content":"The capital of France is Paris.","refusal":null,"annotations":[]}`
		finish := "stop"
		switch {
		case bytes.Contains(req["response_format"], []byte(`"json_schema"`)):
			message = `{"role":"assistant","content":"{\"city\":\"Paris\",\"country\":\"France\"}","refusal":null,"annotations":[]}`
		case req["tools"] != nil:
			message = `{"role":"assistant","content":null,"tool_calls":[` +
				`{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
				`{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}],"refusal":null,"annotations":[]}`
			finish = "tool_calls"
		}
		n := 1
		_ = json.Unmarshal(req["n"], &n)
		var choices []string
		for i := range n {
			choices = append(choices, fmt.Sprintf(`{"index":%d,"message":%s,"logprobs":null,"finish_reason":%q}`, i, message, finish))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[%s],`+
			`"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}},`+
			`"system_fingerprint":"fp_x","service_tier":"default"}`, strings.Join(choices, ","))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]json.RawMessage {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
}

// TestOfficialSDKPassThrough uses the official Go SDK's structured output,
// tool calls, n and max_completion_tokens through Cato, with the semantic
// cache on: a structured-output request after the same prompt asked as
// plain text is answered fresh, with JSON.
func TestOfficialSDKPassThrough(t *testing.T) {
	up, sent := sdkUpstream(t)
	base := gateway(t, upstreamConfig(up.URL))
	client := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	ctx := context.Background()
	prompt := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the capital of France?")}

	var resp *http.Response
	plain, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock_haiku", Messages: prompt}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("plain: %v", err)
	}
	if plain.Choices[0].Message.Content != "The capital of France is Paris." || resp.Header.Get("X-Cato-Cache") != "miss" {
		t.Fatalf("plain answer %q, X-Cato-Cache %q; want the prose, stored", plain.Choices[0].Message.Content, resp.Header.Get("X-Cato-Cache"))
	}
	if again, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock_haiku", Messages: prompt}, option.WithResponseInto(&resp)); err != nil ||
		resp.Header.Get("X-Cato-Cache") != "hit" || again.Choices[0].Message.Content != plain.Choices[0].Message.Content {
		t.Fatalf("plain again: %v, X-Cato-Cache %q; want a cache hit (the test relies on the cache being on)", err, resp.Header.Get("X-Cato-Cache"))
	}
	if u := plain.Usage; u.PromptTokensDetails.CachedTokens != 8 || u.CompletionTokensDetails.ReasoningTokens != 2 || plain.SystemFingerprint != "fp_x" || plain.ServiceTier != "default" {
		t.Errorf("usage details, fingerprint, tier = %+v, %q, %q; want the upstream's", u, plain.SystemFingerprint, plain.ServiceTier)
	}

	structured, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "bedrock_haiku", Messages: prompt,
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
				Name: "capital", Strict: openai.Bool(true),
				Schema: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}, "country": map[string]any{"type": "string"}},
					"required": []string{"city", "country"}, "additionalProperties": false},
			},
		}},
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("structured: %v", err)
	}
	var capital struct{ City, Country string }
	if err := json.Unmarshal([]byte(structured.Choices[0].Message.Content), &capital); err != nil || capital.City != "Paris" {
		t.Errorf("structured answer %q (X-Cato-Cache %s): %v; want JSON with city Paris", structured.Choices[0].Message.Content, resp.Header.Get("X-Cato-Cache"), err)
	}

	tools, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model: "bedrock_haiku", Messages: prompt, ParallelToolCalls: openai.Bool(true),
		MaxCompletionTokens: openai.Int(50),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Strict: openai.Bool(true),
			Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}, "additionalProperties": false},
		})},
	})
	if err != nil {
		t.Fatalf("tools: %v", err)
	}
	m := tools.Choices[0].Message
	if len(m.ToolCalls) != 2 || m.JSON.Content.Raw() != "null" || tools.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("tool answer: %d calls, content %s, finish %q; want 2 calls, content null, tool_calls", len(m.ToolCalls), m.JSON.Content.Raw(), tools.Choices[0].FinishReason)
	}

	two, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "bedrock_haiku", Messages: prompt, N: openai.Int(2)}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("n=2: %v", err)
	}
	if len(two.Choices) != 2 || two.Choices[1].Index != 1 || resp.Header.Get("X-Cato-Cache") != "bypass" {
		t.Errorf("n=2: %d choices, X-Cato-Cache %q; want 2 choices and no cached answer", len(two.Choices), resp.Header.Get("X-Cato-Cache"))
	}

	bodies := sent()
	if len(bodies) != 4 {
		t.Fatalf("upstream got %d requests; want 4 (the repeated plain question is a hit)", len(bodies))
	}
	toolReq := bodies[2]
	if string(toolReq["max_completion_tokens"]) != "50" || toolReq["max_tokens"] != nil {
		t.Errorf("upstream max_completion_tokens %s, max_tokens %s; want 50 and none", toolReq["max_completion_tokens"], toolReq["max_tokens"])
	}
	if !bytes.Contains(toolReq["tools"], []byte(`"strict":true`)) || string(toolReq["parallel_tool_calls"]) != "true" {
		t.Errorf("upstream tools %s, parallel_tool_calls %s; want strict kept", toolReq["tools"], toolReq["parallel_tool_calls"])
	}
	if !bytes.Contains(bodies[1]["response_format"], []byte(`"strict":true`)) {
		t.Errorf("upstream response_format %s; want the json_schema as sent", bodies[1]["response_format"])
	}
}
