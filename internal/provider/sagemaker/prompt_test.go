package sagemaker

import (
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestChatMLPrompt(t *testing.T) {
	got := chatMLPrompt([]llm.Message{
		{Role: llm.RoleDeveloper, Content: "Rules."},
		{Role: llm.RoleUser, Content: "Weather?"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}, {Name: "now", Arguments: "not json"}}},
		{Role: llm.RoleTool, Content: "18C"},
	})
	want := "<|im_start|>system\nRules.<|im_end|>\n" +
		"<|im_start|>user\nWeather?<|im_end|>\n" +
		"<|im_start|>assistant\n\n<tool_call>\n{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}\n</tool_call>" +
		"\n<tool_call>\n{\"name\":\"now\",\"arguments\":\"not json\"}\n</tool_call><|im_end|>\n" +
		"<|im_start|>tool\n18C<|im_end|>\n" +
		"<|im_start|>assistant\n"
	if got != want {
		t.Errorf("chatMLPrompt =\n%q\nwant\n%q", got, want)
	}
}
