package app

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
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
