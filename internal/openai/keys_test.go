package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEachMember(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [][2]string
		ok   bool
	}{
		{"empty", `{}`, nil, true},
		{"spaces", " { \"a\" : 1 , \"b\":\t[1,{\"x\":\"}]\"}] }\n", [][2]string{{"a", "1"}, {"b", `[1,{"x":"}]"}]`}}, true},
		{"escaped key and value", `{"a\"b":"c\\\"d","\u00e9":null}`, [][2]string{{`a"b`, `"c\\\"d"`}, {"é", "null"}}, true},
		{"literals", `{"t":true,"f":false,"n":-1.5e3}`, [][2]string{{"t", "true"}, {"f", "false"}, {"n", "-1.5e3"}}, true},
		{"not an object", `[1]`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][2]string
			ok := eachMember([]byte(tt.in), func(k, v []byte) { got = append(got, [2]string{string(k), string(v)}) })
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzEachMember checks eachMember against a decode into a map: the same
// keys, the last of repeated ones winning, with the same raw values.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x\"y","c":{"d":[1,"]"]},"a":null}`, `{"\u0041":true}`, ` {"x" : [ ] } `, `{"a":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(in, &want) != nil || want == nil {
			return
		}
		got := map[string]json.RawMessage{}
		if !eachMember(in, func(k, v []byte) { got[string(k)] = append(json.RawMessage(nil), v...) }) {
			t.Fatalf("eachMember(%q) failed on a valid object", in)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("eachMember(%q) mismatch (-map +eachMember):\n%s", in, diff)
		}
	})
}

// choiceTwoPass is the previous Choice decoder, which decoded the choice
// twice (into the struct, then into a map for its unknown fields); the
// one-pass decoder must agree with it.
func choiceTwoPass(b []byte) (Choice, error) {
	var a choiceAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return Choice{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Choice{}, err
	}
	for k, v := range m {
		if !knownChoiceFields[k] && !isNull(v) {
			if a.Extra == nil {
				a.Extra = map[string]json.RawMessage{}
			}
			a.Extra[k] = v
		}
	}
	return Choice(a), nil
}

func FuzzChoiceUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}`,
		`{"index":0,"message":{"content":"x"},"finish_reason":"stop","logprobs":{"content":[]},"x":null}`,
		`{"index":1,"delta":{},"hidden_states":[1,2],"extra":1,"extra":null,"Other":"y"}`,
		`{"Index":2,"DELTA":{"content":"z"}}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, wantErr := choiceTwoPass(in)
		var got Choice
		err := json.Unmarshal(in, &got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error = %v, two-pass error = %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decoding %q mismatch (-two-pass +one-pass):\n%s", in, diff)
		}
	})
}
