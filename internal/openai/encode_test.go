package openai

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/llm"
)

// members returns the top-level members of the JSON object b, each value
// exactly as written.
func members(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, b)
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k] = string(v)
	}
	return out
}

// TestEncodeRequestPassesFieldsThrough: every member Cato does not own
// reaches an OpenAI-compatible upstream byte for byte, and Cato writes only
// model, messages (as sent), stream and stream_options.
func TestEncodeRequestPassesFieldsThrough(t *testing.T) {
	const tools = `[{"type":"function","function":{"name":"get_weather","strict":true,"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}]`
	tests := []struct {
		name   string
		body   string
		stream bool
		want   map[string]string // members of the upstream body; every other member must be absent
	}{
		{
			name: "every field Cato does not act on, as sent",
			body: `{"model":"tier","messages":[{"role":"user","content":"hi"}],
				"tools":` + tools + `,"tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,
				"response_format":{"type":"json_schema","json_schema":{"name":"w","strict":true,"schema":{"type":"object"}}},
				"seed":42,"logprobs":true,"top_logprobs":3,"metadata":{"k":"v"},"store":true,"reasoning_effort":"low",
				"service_tier":"flex","prediction":{"type":"content","content":"x"},"modalities":["text","audio"],
				"audio":{"voice":"alloy","format":"wav"},"frequency_penalty":0.50,"logit_bias":{"50256":-100},
				"temperature":0.70,"top_p":1.0,"stop":"END","user":"u-1","n":2,"x_vendor_knob":{"a":[1,2]},
				"max_completion_tokens":64,"session_id":"s1","cato":{"domain":"d"}}`,
			want: map[string]string{
				"model": `"up-id"`, "messages": `[{"role":"user","content":"hi"}]`,
				"tools": tools, "tool_choice": `{"type":"function","function":{"name":"get_weather"}}`, "parallel_tool_calls": `false`,
				"response_format": `{"type":"json_schema","json_schema":{"name":"w","strict":true,"schema":{"type":"object"}}}`,
				"seed":            `42`, "logprobs": `true`, "top_logprobs": `3`, "metadata": `{"k":"v"}`, "store": `true`,
				"reasoning_effort": `"low"`, "service_tier": `"flex"`, "prediction": `{"type":"content","content":"x"}`,
				"modalities": `["text","audio"]`, "audio": `{"voice":"alloy","format":"wav"}`, "frequency_penalty": `0.50`,
				"logit_bias": `{"50256":-100}`, "temperature": `0.70`, "top_p": `1.0`, "stop": `"END"`, "user": `"u-1"`,
				"n": `2`, "x_vendor_knob": `{"a":[1,2]}`, "max_completion_tokens": `64`,
			},
		},
		{
			name: "max_tokens is not rewritten either",
			body: `{"model":"tier","messages":[{"role":"user","content":"hi"}],"max_tokens":7}`,
			want: map[string]string{"model": `"up-id"`, "messages": `[{"role":"user","content":"hi"}]`, "max_tokens": `7`},
		},
		{
			name: "messages as sent, unknown fields, nulls and parts included",
			body: `{"model":"tier","messages":[{"role":"developer","content":"Be brief.","x_note":1},{"role":"user","content":[{"type":"text","text":"what is <this>?"},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]},{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"é \u00e9"}]}`,
			want: map[string]string{
				"model":    `"up-id"`,
				"messages": `[{"role":"developer","content":"Be brief.","x_note":1},{"role":"user","content":[{"type":"text","text":"what is <this>?"},{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"low"}}]},{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"é \u00e9"}]`,
			},
		},
		{
			name:   "a stream asks for usage, keeping the client's other stream options",
			body:   `{"model":"tier","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":false,"include_obfuscation":false}}`,
			stream: true,
			want: map[string]string{
				"model": `"up-id"`, "messages": `[{"role":"user","content":"hi"}]`, "stream": `true`,
				"stream_options": `{"include_obfuscation":false,"include_usage":true}`,
			},
		},
		{
			name: "a streamed client request answered whole drops stream and stream_options",
			body: `{"model":"tier","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`,
			want: map[string]string{"model": `"up-id"`, "messages": `[{"role":"user","content":"hi"}]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DecodeChatRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := EncodeRequest(&r.Request, "up-id", tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, members(t, b)); diff != "" {
				t.Errorf("upstream body mismatch (-want +got):\n%s\nbody: %s", diff, b)
			}
		})
	}
}

// TestEncodeRequestMessagesCatoAdded: messages Cato adds (a session's
// earlier turns) are encoded from their fields, before the client's, which
// go as sent; a request Cato made itself has its fields written.
func TestEncodeRequestMessagesCatoAdded(t *testing.T) {
	r, err := DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"and now?","x":1}],"seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req := r.Request
	req.Messages = append([]llm.Message{
		{Role: llm.RoleUser, Content: "first <q>"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}},
	}, req.Messages...)
	b, err := EncodeRequest(&req, "up", false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"model":    `"up"`,
		"messages": `[{"role":"user","content":"first \u003cq\u003e"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"and now?","x":1}]`,
		"seed":     `1`,
	}
	if diff := cmp.Diff(want, members(t, b)); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}

	temp, strict := 0.25, true
	own := &llm.Request{
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}, MaxTokens: 5, MaxCompletionTokens: 6, N: 2,
		Temperature: &temp, Stop: []string{"x"}, User: "u", HiddenStates: true,
		Tools: []llm.Tool{
			{Name: "f", Parameters: json.RawMessage(`{"type":"object"}`)},
			{Name: "g", Parameters: json.RawMessage(`{"type":"object"}`), Strict: &strict},
		},
		ToolChoice: json.RawMessage(`"auto"`),
	}
	b, err = EncodeRequest(own, "up", false)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		"model": `"up"`, "messages": `[{"role":"user","content":"hi"}]`, "max_tokens": `5`, "max_completion_tokens": `6`,
		"n": `2`, "temperature": `0.25`, "stop": `["x"]`, "user": `"u"`, "return_hidden_states": `true`,
		"tools":       `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}},{"type":"function","function":{"name":"g","parameters":{"type":"object"},"strict":true}}]`,
		"tool_choice": `"auto"`,
	}
	if diff := cmp.Diff(want, members(t, b)); diff != "" {
		t.Errorf("request Cato made (-want +got):\n%s", diff)
	}
}

func TestAppendRewritten(t *testing.T) {
	const doc = `{"id":"up-1","object":"chat.completion","created":7,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"b"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1","service_tier":"default","cato":{"upstream":true}}`
	tests := []struct {
		name string
		doc  string
		w    Rewrite
		want string
	}{
		{
			name: "id replaced, model kept, Cato's object last",
			doc:  doc, w: Rewrite{ID: "chatcmpl-r", Model: "tier", KeepModel: true, Cato: []byte(`{"model":"tier"}`)},
			want: `{"id":"chatcmpl-r","object":"chat.completion","created":7,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"b"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp_1","service_tier":"default","cato":{"model":"tier"}}`,
		},
		{
			name: "model replaced when routed, usage dropped",
			doc:  doc, w: Rewrite{ID: "c", Model: "tier", DropUsage: true},
			want: `{"id":"c","object":"chat.completion","created":7,"model":"tier","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"b"},"logprobs":null,"finish_reason":"stop"}],"system_fingerprint":"fp_1","service_tier":"default"}`,
		},
		{
			name: "id and model added when missing",
			doc:  ` { "choices" : [ ] } `, w: Rewrite{ID: "c", Model: "tier", KeepModel: true},
			want: `{"choices":[ ],"id":"c","model":"tier"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := AppendRewritten([]byte("data: "), []byte(tt.doc), &tt.w)
			if !ok || string(got) != "data: "+tt.want {
				t.Errorf("AppendRewritten = %s, %v;\nwant data: %s", got, ok, tt.want)
			}
		})
	}
	if got, ok := AppendRewritten([]byte("x"), []byte(`[1]`), &Rewrite{}); ok || string(got) != "x" {
		t.Errorf("AppendRewritten(array) = %q, %v; want dst unchanged, false", got, ok)
	}
}

func TestHasChoices(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"choices":[],"usage":{}}`:           false,
		`{"choices":[ ] ,"usage":{}}`:         false,
		`{"usage":{}}`:                        false,
		`{"choices":[{"index":0}]}`:           true,
		`{"choices": [ {"index":0} ], "x":1}`: true,
	} {
		if got := HasChoices([]byte(doc)); got != want {
			t.Errorf("HasChoices(%s) = %v; want %v", doc, got, want)
		}
	}
}

// TestAnswersCatoBuildsContentNull: answers Cato writes itself (translated
// providers, cached answers) say content null on a tool-call answer, and
// open a streamed tool call without empty text.
func TestAnswersCatoBuildsContentNull(t *testing.T) {
	resp := &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f", Arguments: "{}"}}}, FinishReason: llm.FinishToolCalls}
	b, err := json.Marshal(NewChatResponse("id", 1, "m", resp))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"message":{"role":"assistant","content":null,"tool_calls":[`)) {
		t.Errorf("tool-call answer = %s; want content null", b)
	}
	b, _ = json.Marshal(NewChunk("id", 1, "m", &llm.Chunk{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCallDelta{{ID: "c", Name: "f"}}}))
	if bytes.Contains(b, []byte(`"content"`)) {
		t.Errorf("first chunk of a tool call = %s; want no content", b)
	}
	b, _ = json.Marshal(NewChunk("id", 1, "m", &llm.Chunk{Role: llm.RoleAssistant}))
	if !bytes.Contains(b, []byte(`"delta":{"role":"assistant","content":""}`)) {
		t.Errorf("first chunk of a text answer = %s; want content \"\"", b)
	}
	b, _ = json.Marshal(NewChunk("id", 1, "m", &llm.Chunk{Index: 2, Content: "x"}))
	if !bytes.Contains(b, []byte(`"index":2`)) {
		t.Errorf("chunk of choice 2 = %s; want index 2", b)
	}
}

// FuzzAppendRewritten checks that a rewritten document is JSON whose
// members are the original's, but for those the rewrite replaces or drops.
func FuzzAppendRewritten(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","model":"m","choices":[],"usage":{"x":1},"cato":1}`,
		`{"choices":[{"index":0,"delta":{"content":null}}]}`,
		` { "id" : "a" , "id":"b", "\u0069d":"c", "x":"\u00e9\"" } `,
		`{}`, `[]`, `"s"`, `null`,
	} {
		f.Add([]byte(s), false, false)
	}
	f.Fuzz(func(t *testing.T, doc []byte, keep, drop bool) {
		var in map[string]json.RawMessage
		if json.Unmarshal(doc, &in) != nil || in == nil {
			return
		}
		w := Rewrite{ID: "chatcmpl-<&>", Model: "tier", KeepModel: keep, DropUsage: drop, Cato: []byte(`{"model":"tier"}`)}
		b, ok := AppendRewritten(nil, doc, &w)
		if !ok {
			t.Fatalf("AppendRewritten refused the object %q", doc)
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("AppendRewritten(%q) = %q: %v", doc, b, err)
		}
		var id, model string
		if json.Unmarshal(out["id"], &id) != nil || id != w.ID {
			t.Errorf("id = %s; want %q", out["id"], w.ID)
		}
		if _, had := in["model"]; !keep || !had {
			if json.Unmarshal(out["model"], &model) != nil || model != "tier" {
				t.Errorf("model = %s; want tier", out["model"])
			}
		}
		if string(out["cato"]) != `{"model":"tier"}` {
			t.Errorf("cato = %s", out["cato"])
		}
		for k, v := range in {
			switch k {
			case "id", "model", "cato":
				continue
			case "usage":
				if drop {
					if _, ok := out[k]; ok {
						t.Errorf("usage kept: %s", b)
					}
					continue
				}
			}
			// A map decode keeps the last of repeated keys; the rewrite
			// keeps every member, so compare with the same decode.
			var a, c any
			_ = json.Unmarshal(v, &a)
			_ = json.Unmarshal(out[k], &c)
			if !cmp.Equal(a, c) {
				t.Errorf("member %q = %s; want %s", k, out[k], v)
			}
		}
	})
}
