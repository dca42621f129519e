package openai

import (
	"bytes"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
)

// FuzzStoredResponse checks the record a stored response is kept as (for
// previous_response_id): any record is refused or read, what is read
// writes a record that reads to the same conversation and output (the
// second write is the first byte for byte), and continuing it works.
func FuzzStoredResponse(f *testing.F) {
	out := NewResponse("resp_0123456789abcdef0123456789abcdef", 1, "m", &ResponsesRequest{Model: "m"})
	out.Complete(&llm.Response{
		Message:      llm.Message{Role: llm.RoleAssistant, Content: "Checking.", ToolCalls: []llm.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		FinishReason: llm.FinishToolCalls,
	})
	rec, err := (&StoredResponse{Conversation: []llm.Message{{Role: llm.RoleSystem, Content: "Be brief."}, {Role: llm.RoleUser, Content: "Weather in Paris?"}}, Output: out.Output}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	for _, s := range []string{
		`{"messages":[],"output":[]}`,
		`{"messages":null,"output":null}`,
		`{"messages":[{"role":"tool","tool_call_id":"c","content":"42"}],"output":[{"type":"message","id":"msg_1_0","content":[{"type":"output_text","text":"hi"}]}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`,
		`{"messages":"x"}`, `{"output":[{"type":"function_call"}]}`, `[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sr, err := UnmarshalStoredResponse(b)
		if err != nil {
			return
		}
		_ = sr.Messages()
		for i := range sr.Output {
			if _, ok := sr.Item(sr.Output[i].ID); !ok {
				t.Fatalf("item %q of the output not found", sr.Output[i].ID)
			}
		}
		first, err := sr.Marshal()
		if err != nil {
			return // a message Cato cannot write (no role) cannot have been stored by it
		}
		again, err := UnmarshalStoredResponse(first)
		if err != nil {
			t.Fatalf("%q read, written as %s, does not read back: %v", b, first, err)
		}
		second, err := again.Marshal()
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("round trip of %q:\n %s\nbecame\n %s (%v)", b, first, second, err)
		}
	})
}
