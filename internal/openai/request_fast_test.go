package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeChatRequestFastFallsBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		fast bool
	}{
		{"plain", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, true},
		{"extra and options", `{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":1,"stop":"x","cato":{"domain":"d"},"stream_options":{"include_usage":true}}`, true},
		{"options and roles", `{"model":"m","messages":[{"role":"system","content":"be \"brief\""},{"role":"user","content":"hi","name":"u1"},{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","content":"42","tool_call_id":"1"}],"n":2,"temperature":0.7,"top_p":1,"max_tokens":5,"stream":false,"user":"x"}`, true},
		{"a number where a string goes", `{"model":1,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"a string where a number goes", `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":"1"}`, false},
		{"a message key differing in case", `{"model":"m","messages":[{"Role":"user","content":"hi"}]}`, false},
		{"an escaped key", `{"mod\u0065l":"m","messages":[{"role":"user","content":"hi"}]}`, true},
		{"repeated key", `{"model":"m","model":"n","messages":[{"role":"user","content":"hi"}]}`, false},
		{"repeated extra", `{"model":"m","seed":1,"seed":2,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"key differing in case", `{"model":"m","Model":"n","messages":[{"role":"user","content":"hi"}]}`, false},
		{"non-ASCII key", `{"model":"m","ſtream":true,"messages":[{"role":"user","content":"hi"}]}`, false},
		{"invalid", `{"model":"m","messages":[{"role":"user","content":"hi"}]`, false},
		{"not an object", `null`, false},
		{"failure", `{"model":"m","messages":[],"temperature":3}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := decodeChatRequestFast([]byte(tc.body))
			if ok != tc.fast {
				t.Fatalf("fast path taken = %v, want %v", ok, tc.fast)
			}
		})
	}
}

// FuzzDecodeChatRequestFast checks that whatever the one-pass decoder
// accepts, the member-by-member decoder accepts and decodes the same.
func FuzzDecodeChatRequestFast(f *testing.F) {
	for _, s := range []string{
		`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{"name":"f","arguments":"{}"}}]}],"tool_choice":"auto","tools":[{"type":"function","function":{"name":"f"}}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"cato":{"domain":"x","cache":false,"return_hidden_states":true}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"],"temperature":1,"top_p":0.5,"max_tokens":3,"max_completion_tokens":null}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"Stream":true,"seed":4,"user":"u","session_id":"s"}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true},"stream_options":{}}`,
		`{"mod\u0065l":"m","messages":[{"role":"user","content":"x"}],"\u00e9":1}`,
		`{"model":null}`, `[]`, `"`, `{"messages":{"0":1}}`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := decodeChatRequestFast(body)
		if !ok {
			return
		}
		slow, err := decodeChatRequestSlow(body)
		if err != nil {
			t.Fatalf("fast path accepted what the slow path rejects (%v): %q", err, body)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Fatalf("fast and slow decodes differ (-slow +fast):\n%s\nbody %q", diff, body)
		}
	})
}

// FuzzPlainString checks that what plainString accepts json.Unmarshal
// decodes to the same string.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"hi"`, `""`, `"a\"b"`, `"é"`, "\"\xff\"", `"\u00e9"`, `"`, `" "x`, "\"\t\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("plainString accepted %q, json.Unmarshal rejects it: %v", raw, err)
		}
		if got != want {
			t.Fatalf("plainString(%q) = %q, json.Unmarshal gives %q", raw, got, want)
		}
	})
}

// FuzzQuotePlain checks that what quotePlain writes is json.Marshal's output.
func FuzzQuotePlain(f *testing.F) {
	for _, s := range []string{"hi", "", `a"b`, "<b>", "é", "\xff", "a\\b", "tab\t", "What is the capital of France?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := quotePlain(s)
		if !ok {
			return
		}
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("quotePlain(%q) = %s, json.Marshal gives %s", s, got, want)
		}
	})
}
