package bedrock

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestBuildConversation(t *testing.T) {
	user := func(s string) llm.Message { return llm.Message{Role: llm.RoleUser, Content: s} }
	asst := func(s string, calls ...llm.ToolCall) llm.Message {
		return llm.Message{Role: llm.RoleAssistant, Content: s, ToolCalls: calls}
	}
	tool := func(id, s string) llm.Message { return llm.Message{Role: llm.RoleTool, ToolCallID: id, Content: s} }
	call := func(id, args string) llm.ToolCall { return llm.ToolCall{ID: id, Name: "lookup", Arguments: args} }
	text := func(s string) block { return block{kind: textBlock, text: s} }
	use := func(id, args string) block {
		return block{kind: toolUseBlock, toolID: id, toolName: "lookup", input: json.RawMessage(args)}
	}
	result := func(id, s string) block { return block{kind: toolResultBlock, toolID: id, text: s} }
	lookup := llm.Tool{Name: "lookup", Parameters: json.RawMessage(`{"type":"object"}`)}

	tests := []struct {
		name       string
		req        llm.Request
		wantSystem []string
		wantTurns  []turn
		wantTools  []string
		wantChoice toolChoice
		wantMax    int
		wantErr    string // substring of the 400's message
	}{
		{name: "system apart, max tokens default",
			req:        llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "a"}, {Role: llm.RoleDeveloper, Content: "b"}, user("hi")}},
			wantSystem: []string{"a", "b"}, wantTurns: []turn{{roleUser, []block{text("hi")}}}, wantMax: DefaultMaxTokens},
		{name: "max tokens kept",
			req:       llm.Request{MaxTokens: 7, Messages: []llm.Message{user("hi")}},
			wantTurns: []turn{{roleUser, []block{text("hi")}}}, wantMax: 7},
		{name: "max_completion_tokens is Bedrock's limit",
			req:       llm.Request{MaxCompletionTokens: 9, Messages: []llm.Message{user("hi")}},
			wantTurns: []turn{{roleUser, []block{text("hi")}}}, wantMax: 9},
		{name: "max_completion_tokens wins over max_tokens",
			req:       llm.Request{MaxTokens: 7, MaxCompletionTokens: 9, Messages: []llm.Message{user("hi")}},
			wantTurns: []turn{{roleUser, []block{text("hi")}}}, wantMax: 9},
		{name: "json_object response format passes",
			req:       llm.Request{Extra: map[string]json.RawMessage{"response_format": json.RawMessage(`{"type":"json_object"}`)}, Messages: []llm.Message{user("hi")}},
			wantTurns: []turn{{roleUser, []block{text("hi")}}}},
		{name: "n=1 is one choice",
			req:       llm.Request{N: 1, Messages: []llm.Message{user("hi")}},
			wantTurns: []turn{{roleUser, []block{text("hi")}}}},
		{name: "consecutive same role merged",
			req: llm.Request{Messages: []llm.Message{user("a"), user("b"), asst("c"), asst("d"), user("e")}},
			wantTurns: []turn{{roleUser, []block{text("a"), text("b")}}, {roleAssistant, []block{text("c"), text("d")}},
				{roleUser, []block{text("e")}}}},
		{name: "empty messages dropped, then merged",
			req:       llm.Request{Messages: []llm.Message{user("a"), asst(" "), user("b"), {Role: llm.RoleSystem}}},
			wantTurns: []turn{{roleUser, []block{text("a"), text("b")}}}},
		{name: "tool round trip, results before text",
			req: llm.Request{Tools: []llm.Tool{lookup}, Messages: []llm.Message{user("q"), asst("let me see", call("t1", `{"k":1}`), call("t2", "")),
				tool("t2", "two"), user("and?"), tool("t1", "one")}},
			wantTurns: []turn{{roleUser, []block{text("q")}},
				{roleAssistant, []block{text("let me see"), use("t1", `{"k":1}`), use("t2", `{}`)}},
				{roleUser, []block{result("t2", "two"), result("t1", "one"), text("and?")}}},
			wantTools: []string{"lookup"}},
		{name: "history tool calls without tools get a schema-less definition",
			req:       llm.Request{Messages: []llm.Message{user("q"), asst("", call("t1", `{}`)), tool("t1", "r")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}, {roleAssistant, []block{use("t1", `{}`)}}, {roleUser, []block{result("t1", "r")}}},
			wantTools: []string{"lookup"}},
		{name: "prefill trailing space trimmed",
			req:       llm.Request{Messages: []llm.Message{user("q"), asst("The answer is \n")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}, {roleAssistant, []block{text("The answer is")}}}},
		{name: "tool choice required", req: llm.Request{Tools: []llm.Tool{lookup}, ToolChoice: json.RawMessage(`"required"`), Messages: []llm.Message{user("q")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}}, wantTools: []string{"lookup"}, wantChoice: toolChoice{mode: "any"}},
		{name: "tool choice function", req: llm.Request{Tools: []llm.Tool{lookup}, ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"lookup"}}`), Messages: []llm.Message{user("q")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}}, wantTools: []string{"lookup"}, wantChoice: toolChoice{mode: "tool", name: "lookup"}},
		{name: "tool choice auto", req: llm.Request{Tools: []llm.Tool{lookup}, ToolChoice: json.RawMessage(`"auto"`), Messages: []llm.Message{user("q")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}}, wantTools: []string{"lookup"}},
		{name: "tool choice none drops tools", req: llm.Request{Tools: []llm.Tool{lookup}, ToolChoice: json.RawMessage(`"none"`), Messages: []llm.Message{user("q")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}}},
		{name: "tool choice none keeps tools the history needs",
			req: llm.Request{Tools: []llm.Tool{lookup}, ToolChoice: json.RawMessage(`"none"`),
				Messages: []llm.Message{user("q"), asst("", call("t1", `{}`)), tool("t1", "r")}},
			wantTurns: []turn{{roleUser, []block{text("q")}}, {roleAssistant, []block{use("t1", `{}`)}}, {roleUser, []block{result("t1", "r")}}},
			wantTools: []string{"lookup"}},

		{name: "json_schema response format", req: llm.Request{Extra: map[string]json.RawMessage{"response_format": json.RawMessage(`{"type":"json_schema","json_schema":{"name":"a","schema":{}}}`)},
			Messages: []llm.Message{user("q")}}, wantErr: "response_format: Bedrock cannot"},
		{name: "more than one choice", req: llm.Request{N: 2, Messages: []llm.Message{user("q")}}, wantErr: "n: Bedrock answers with one choice"},
		{name: "assistant first", req: llm.Request{Messages: []llm.Message{asst("hello"), user("hi")}}, wantErr: "start with a user message"},
		{name: "no user message", req: llm.Request{Messages: []llm.Message{{Role: llm.RoleSystem, Content: "s"}}}, wantErr: "at least one user message"},
		{name: "unknown role", req: llm.Request{Messages: []llm.Message{{Role: "function", Content: "x"}}}, wantErr: "messages[0].role"},
		{name: "tool without id", req: llm.Request{Messages: []llm.Message{user("q"), tool("", "r")}}, wantErr: "tool_call_id"},
		{name: "tool result without call", req: llm.Request{Messages: []llm.Message{user("q"), asst("a"), tool("t9", "r")}}, wantErr: `"t9" does not follow`},
		{name: "unanswered tool call", req: llm.Request{Messages: []llm.Message{user("q"), asst("", call("t1", `{}`)), user("never mind")}}, wantErr: `"t1" has no tool message`},
		{name: "arguments not JSON", req: llm.Request{Messages: []llm.Message{user("q"), asst("", call("t1", `{"a":`))}}, wantErr: "not valid JSON"},
		{name: "arguments not an object", req: llm.Request{Messages: []llm.Message{user("q"), asst("", call("t1", `[1]`))}}, wantErr: "not a JSON object"},
		{name: "tool call without name", req: llm.Request{Messages: []llm.Message{user("q"), asst("", llm.ToolCall{ID: "t1"})}}, wantErr: "needs an id and a function name"},
		{name: "schema not an object", req: llm.Request{Tools: []llm.Tool{{Name: "x", Parameters: json.RawMessage(`"s"`)}}, Messages: []llm.Message{user("q")}}, wantErr: "tools[0].function.parameters"},
		{name: "tool without name", req: llm.Request{Tools: []llm.Tool{{}}, Messages: []llm.Message{user("q")}}, wantErr: "tools[0].function.name"},
		{name: "tool choice unknown function", req: llm.Request{Tools: []llm.Tool{lookup}, ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"nope"}}`), Messages: []llm.Message{user("q")}}, wantErr: `"nope" is not among`},
		{name: "tool choice bad string", req: llm.Request{ToolChoice: json.RawMessage(`"sometimes"`), Messages: []llm.Message{user("q")}}, wantErr: "tool_choice"},
		{name: "tool choice bad object", req: llm.Request{ToolChoice: json.RawMessage(`{"type":"x"}`), Messages: []llm.Message{user("q")}}, wantErr: "tool_choice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildConversation(&tt.req)
			if tt.wantErr != "" {
				var bad *badRequestError
				if !errors.As(err, &bad) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("buildConversation = %v; want a bad request mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantSystem, got.system); diff != "" {
				t.Errorf("system (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantTurns, got.turns, cmp.AllowUnexported(turn{}, block{})); diff != "" {
				t.Errorf("turns (-want +got):\n%s", diff)
			}
			var tools []string
			for _, tl := range got.tools {
				tools = append(tools, tl.Name)
			}
			if diff := cmp.Diff(tt.wantTools, tools); diff != "" {
				t.Errorf("tools (-want +got):\n%s", diff)
			}
			if got.toolChoice != tt.wantChoice {
				t.Errorf("tool choice = %+v; want %+v", got.toolChoice, tt.wantChoice)
			}
			if tt.wantMax != 0 && got.maxTokens != tt.wantMax {
				t.Errorf("max tokens = %d; want %d", got.maxTokens, tt.wantMax)
			}
		})
	}
}

func TestFinishReason(t *testing.T) {
	for stop, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
		"guardrail_intervened": "content_filter", "content_filtered": "content_filter",
		"model_context_window_exceeded": "length", "": "",
	} {
		if got := finishReason(stop); got != want {
			t.Errorf("finishReason(%q) = %q; want %q", stop, got, want)
		}
	}
}
