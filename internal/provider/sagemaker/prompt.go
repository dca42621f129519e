package sagemaker

import (
	"encoding/json"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// chatMLPrompt renders messages with the ChatML template (Qwen and many
// fine-tunes use it), ending with an open assistant turn for the model to
// complete. The sglang and tgi payloads send raw text, so the template is
// Cato's job; a model trained on another template must be served behind a
// container that re-templates (see docs/providers.md). Tool calls of an
// assistant turn are written as <tool_call> JSON, as Qwen does.
func chatMLPrompt(msgs []llm.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		role := m.Role
		if role == llm.RoleDeveloper {
			role = llm.RoleSystem
		}
		b.WriteString("<|im_start|>")
		b.WriteString(role)
		b.WriteByte('\n')
		b.WriteString(m.Content)
		for _, tc := range m.ToolCalls {
			call, _ := json.Marshal(struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			}{tc.Name, validJSON(tc.Arguments)})
			b.WriteString("\n<tool_call>\n")
			b.Write(call)
			b.WriteString("\n</tool_call>")
		}
		b.WriteString("<|im_end|>\n")
	}
	b.WriteString("<|im_start|>assistant\n")
	return b.String()
}

// validJSON returns s as JSON, or as a JSON string when it is not JSON.
func validJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	q, _ := json.Marshal(s)
	return q
}
