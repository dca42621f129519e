package openai

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var chatResponseSeeds = []string{
	`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`,
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`,
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":1},"completion_tokens_details":{"reasoning_tokens":2,"x":1}}}`,
	`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls","logprobs":null,"extra":{"a":[1]}}]}`,
	`{"id":"a\nb","model":"caf\u00e9","choices":[{"message":{"content":"line\none \ud83d\ude00"}}]}`,
	`{"ID":"x","choices":null,"usage":null}`,
	`{"id":"x","id":"y"}`,
	`{"created":1.5}`, `{"created":"1"}`, `{"choices":[null,{"index":1}]}`,
	`{"choices":[{"hidden_states":[1,2]}]}`, `{"cato":{"model":"m"}}`,
	`{"choices":[{"message":{"Content":"x"}}]}`, `{"usage":{"prompt_tokens_details":{"Cached_Tokens":1}}}`,
	`{"id":"\xff"}`, `{"id":1}`, `null`, `[]`, `{`, `{"unknown":[1,{"a":"b"}],"id":"k"}`,
	`{"choices":[{"index":0,"delta":{"role":"assistant"},"x":1,"x":null}]}`,
	`{"choices":[{"index":99999999999999999999}]}`,
	`{"id":"q","choices":[{"message":{"content":"say \"hi\"\n\tand \\ or \/ \b\f\r"}}]}`,
	`{"choices":[{"message":{"content":"\u00e9 and \"x\""}}]}`,
}

// FuzzDecodeChatResponse checks DecodeChatResponse against json.Unmarshal:
// the same error or none, the same result, also when decoding into the
// result of an earlier document (prev), as a stream does.
func FuzzDecodeChatResponse(f *testing.F) {
	for i, s := range chatResponseSeeds {
		f.Add([]byte(s), []byte(chatResponseSeeds[(i+1)%len(chatResponseSeeds)]))
	}
	f.Fuzz(func(t *testing.T, in, prev []byte) {
		var want ChatResponse
		wantErr := json.Unmarshal(in, &want)
		var got ChatResponse
		_ = DecodeChatResponse(prev, &got)
		err := DecodeChatResponse(in, &got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decoding %q: error = %v, json.Unmarshal's = %v", in, err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Fatalf("decoding %q: error = %v, json.Unmarshal's = %v", in, err, wantErr)
			}
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decoding %q mismatch (-json.Unmarshal +DecodeChatResponse):\n%s", in, diff)
		}
	})
}

// A stream decodes each chunk into one ChatResponse: a text chunk like the
// one before it then costs only its content.
func TestDecodeChatResponseReusesEarlierResult(t *testing.T) {
	chunk := func(text string) []byte {
		return []byte(`{"id":"chatcmpl-42","object":"chat.completion.chunk","created":1,"model":"up-haiku","choices":[{"index":0,"delta":{"content":"` + text + `"},"finish_reason":null}]}`)
	}
	if raceEnabled {
		t.Skip("sync.Pool (json.Valid's scanner) drops items at random under the race detector")
	}
	var r ChatResponse
	if err := DecodeChatResponse(chunk("a"), &r); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := DecodeChatResponse(chunk("word"), &r); err != nil {
			t.Fatal(err)
		}
	})
	allocs -= testing.AllocsPerRun(100, func() { _ = chunk("word") })
	if allocs > 1 {
		t.Errorf("a chunk decoded into the last one's result costs %v allocations; want 1 (its content)", allocs)
	}
	if r.ID != "chatcmpl-42" || r.Model != "up-haiku" || len(r.Choices) != 1 || r.Choices[0].Delta == nil || *r.Choices[0].Delta.Content != "word" {
		t.Errorf("decoded %+v", r)
	}
}

// TestDecodeChatResponseFastPath checks that the common shapes take the
// walking decoder (an upstream's answer, a chunk, usage with details, a
// content with escapes) and that the rare ones are left to
// encoding/json.
func TestDecodeChatResponseFastPath(t *testing.T) {
	for i, tc := range []struct {
		in   string
		fast bool
	}{
		{chatResponseSeeds[0], true},
		{chatResponseSeeds[1], true},
		{chatResponseSeeds[2], true},
		{chatResponseSeeds[3], true},
		{chatResponseSeeds[4], true},
		{`{"ID":"x"}`, false},
		{`{"id":"x","id":"y"}`, false},
		{`{"created":1.5}`, false},
		{`{"choices":[{"hidden_states":[1,2]}]}`, false},
		{`{"cato":{"model":"m"}}`, false},
	} {
		var r ChatResponse
		if got := decodeChatResponseFast([]byte(tc.in), &r); got != tc.fast {
			t.Errorf("%d: %s: fast = %v, want %v", i, tc.in, got, tc.fast)
		}
	}
}

// BenchmarkDecodeChatResponse compares DecodeChatResponse with
// json.Unmarshal on an upstream's answer and on one streamed chunk.
func BenchmarkDecodeChatResponse(b *testing.B) {
	for _, tc := range []struct{ name, doc string }{
		{"answer", chatResponseSeeds[0]},
		{"chunk", chatResponseSeeds[1]},
	} {
		doc := []byte(tc.doc)
		b.Run(tc.name+"/json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r ChatResponse
				if err := json.Unmarshal(doc, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/walk", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r ChatResponse
				if err := DecodeChatResponse(doc, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
