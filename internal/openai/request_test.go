package openai

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecodeChatRequest(t *testing.T) {
	temp := 0.5
	tests := []struct {
		name string
		body string
		want *ChatRequest
	}{
		{
			name: "minimal",
			body: `{"model":"auto","messages":[{"role":"user","content":"hi"}]}`,
			want: &ChatRequest{Request: llm.Request{Model: "auto", Messages: []llm.Message{{Role: "user", Content: "hi"}}}},
		},
		{
			name: "everything Cato reads",
			body: `{"model":"bedrock_haiku","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi","name":"ann"}],
				"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":9,"temperature":0.5,
				"stop":"END","user":"u1","session_id":"s1","cato":{"domain":"ai","cache":false,"return_hidden_states":true}}`,
			want: &ChatRequest{
				Request: llm.Request{
					Model: "bedrock_haiku", MaxCompletionTokens: 9, Temperature: &temp, Stop: []string{"END"}, User: "u1",
					IncludeUsage: true, HiddenStates: true, StreamOptions: json.RawMessage(`{"include_usage":true}`),
					Messages: []llm.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi", Name: "ann"}},
					Extra: map[string]json.RawMessage{
						"max_completion_tokens": json.RawMessage(`9`), "temperature": json.RawMessage(`0.5`),
						"stop": json.RawMessage(`"END"`), "user": json.RawMessage(`"u1"`),
					},
				},
				Stream: true, SessionID: "s1", Cato: Options{Domain: "ai", Cache: new(false), HiddenStates: true},
			},
		},
		{
			name: "content parts and unknown fields",
			body: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]}],"seed":3,"response_format":{"type":"json_object"}}`,
			want: &ChatRequest{Request: llm.Request{
				Model: "m",
				Messages: []llm.Message{{Role: "user", Content: "a\nb",
					Parts: json.RawMessage(`[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]`), NonText: true}},
				Extra: map[string]json.RawMessage{"seed": json.RawMessage(`3`), "response_format": json.RawMessage(`{"type":"json_object"}`)},
			}},
		},
		{
			name: "tools and tool turns",
			body: `{"model":"m","messages":[{"role":"user","content":"weather?"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get","arguments":"{\"city\":\"Oslo\"}"}}]},
				{"role":"tool","tool_call_id":"c1","content":"cold"}],
				"tools":[{"type":"function","function":{"name":"get","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
			want: &ChatRequest{Request: llm.Request{
				Model: "m",
				Messages: []llm.Message{
					{Role: "user", Content: "weather?"},
					{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "c1", Name: "get", Arguments: `{"city":"Oslo"}`}}},
					{Role: "tool", Content: "cold", ToolCallID: "c1"},
				},
				Tools:      []llm.Tool{{Name: "get", Parameters: json.RawMessage(`{"type":"object"}`)}},
				ToolChoice: json.RawMessage(`"auto"`),
				Extra: map[string]json.RawMessage{
					"tools":       json.RawMessage(`[{"type":"function","function":{"name":"get","parameters":{"type":"object"}}}]`),
					"tool_choice": json.RawMessage(`"auto"`),
				},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeChatRequest([]byte(tt.body))
			if err != nil {
				t.Fatalf("DecodeChatRequest: %v", err)
			}
			// Each message's Raw is checked by TestDecodeKeepsTheRequestAsSent.
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(llm.Message{}, "Raw")); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeNonTextParts: the decoder marks a message whose content parts
// include anything but text, so that the semantic cache can leave the
// request alone without reading the parts again.
func TestDecodeNonTextParts(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    bool
	}{
		{"a string", `"hello"`, false},
		{"text parts only", `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, false},
		{"no parts", `[]`, false},
		{"image_url", `[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]`, true},
		{"input_audio", `[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]`, true},
		{"file", `[{"type":"text","text":"a"},{"type":"file","file":{"file_id":"file-1"}}]`, true},
		{"a type Cato does not know", `[{"type":"video_url","video_url":{"url":"x"}}]`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":` + tt.content + `}]}`
			got, err := DecodeChatRequest([]byte(body))
			if err != nil {
				t.Fatalf("DecodeChatRequest: %v", err)
			}
			if got.Messages[0].NonText || got.Messages[1].NonText != tt.want || got.HasNonText() != tt.want {
				t.Errorf("NonText = %v, %v; HasNonText() = %v; want false, %v, %v",
					got.Messages[0].NonText, got.Messages[1].NonText, got.HasNonText(), tt.want, tt.want)
			}
		})
	}
}

func TestDecodeChatRequestErrors(t *testing.T) {
	tests := []struct{ name, body, param string }{
		{"empty", ``, ""},
		{"number", `42`, ""},
		{"no model", `{"messages":[{"role":"user","content":"x"}]}`, "model"},
		{"no messages", `{"model":"m"}`, "messages"},
		{"null messages", `{"model":"m","messages":null}`, "messages"},
		{"message not object", `{"model":"m","messages":[1]}`, "messages"},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id"},
		{"content object", `{"model":"m","messages":[{"role":"user","content":{"a":1}}]}`, "messages[0].content"},
		{"text part without text", `{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content"},
		{"negative max_tokens", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-1}`, "max_tokens"},
		{"top_p too big", `{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":3}`, "top_p"},
		{"stop number", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":5}`, "stop"},
		{"tool type", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web"}]}`, "tools[0].type"},
		{"tool name", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}`, "tools[0].function.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChatRequest([]byte(tt.body))
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v; want a *RequestError", err)
			}
			if re.Param != tt.param {
				t.Errorf("param = %q; want %q (%v)", re.Param, tt.param, err)
			}
		})
	}
}

func TestEncodeRequestRoundTrip(t *testing.T) {
	in, err := DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"max_tokens":5}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeRequest(&in.Request, "upstream-id", true)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"model": "upstream-id", "logprobs": true, "max_tokens": 5.0, "stream": true,
		"stream_options": map[string]any{"include_usage": true},
		"messages":       []any{map[string]any{"role": "user", "content": "hi"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encoded request mismatch (-want +got):\n%s", diff)
	}
}

// FuzzDecodeChatRequest checks that no input panics the decoder, that every
// failure is a *RequestError, and that what decodes re-encodes.
func FuzzDecodeChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"stream":true}`,
		`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{"name":"f","arguments":"{}"}}]}]}`,
		`{"model":"m","messages":[],"cato":{"domain":"x"}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"],"temperature":1e308}`,
		`{"model":null}`, `[]`, `"`, `{"messages":{"0":1}}`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeChatRequest(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RequestError", err)
			}
			return
		}
		if r.Model == "" || len(r.Messages) == 0 {
			t.Fatalf("decoded a request without model or messages: %+v", r)
		}
		b, err := EncodeRequest(&r.Request, "x", r.Stream)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		// What Cato sends upstream is JSON, with every message and every
		// member the client sent.
		var sent map[string]json.RawMessage
		if err := json.Unmarshal(b, &sent); err != nil {
			t.Fatalf("re-encoded body is not a JSON object (%v): %s", err, b)
		}
		var msgs []json.RawMessage
		if err := json.Unmarshal(sent["messages"], &msgs); err != nil || len(msgs) != len(r.Messages) {
			t.Fatalf("re-encoded messages = %s; want %d messages", sent["messages"], len(r.Messages))
		}
		for k := range r.Extra {
			if _, ok := sent[k]; !ok {
				t.Fatalf("member %q was not sent: %s", k, b)
			}
		}
	})
}
