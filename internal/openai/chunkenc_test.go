package openai

import (
	"encoding/json"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestAppendChunk(t *testing.T) {
	tests := []struct {
		name   string
		chunk  llm.Chunk
		wantOK bool
	}{
		{"first chunk", llm.Chunk{Role: llm.RoleAssistant, Content: "Hel"}, true},
		{"role only", llm.Chunk{Role: llm.RoleAssistant}, true},
		{"text", llm.Chunk{Content: "lo <b>&</b> \"q\" \\ \n\t\x01\u2028 é \xff"}, true},
		{"empty", llm.Chunk{}, false},
		{"finish", llm.Chunk{Content: "x", FinishReason: llm.FinishStop}, false},
		{"tool call", llm.Chunk{ToolCalls: []llm.ToolCallDelta{{Index: 0, ID: "c1", Name: "f"}}}, false},
		{"extra", llm.Chunk{Content: "x", Extra: map[string]json.RawMessage{"logprobs": json.RawMessage(`null`)}}, false},
		{"usage", llm.Chunk{Content: "x", Usage: &llm.Usage{PromptTokens: 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("data: ")
			got, ok := AppendChunk(prefix, "chatcmpl-<1>", 1700000000, "bedrock_haiku", &tt.chunk)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if string(got) != "data: " {
					t.Fatalf("dst changed on a refused chunk: %q", got)
				}
				return
			}
			want, err := json.Marshal(NewChunk("chatcmpl-<1>", 1700000000, "bedrock_haiku", &tt.chunk))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "data: "+string(want) {
				t.Errorf("AppendChunk =\n%s\nwant\ndata: %s", got, want)
			}
		})
	}
}

// FuzzAppendChunk checks the hand-written chunk encoder against
// json.Marshal of NewChunk's value, byte for byte.
func FuzzAppendChunk(f *testing.F) {
	f.Add("chatcmpl-1", int64(1), "m", "assistant", "Hello")
	f.Add("", int64(-5), "<&>", "", "\u2028\u2029\x00\x1f\x7f\"\\/")
	f.Add("id\xff", int64(0), "m\xed\xa0\x80", "r", "\xc3")
	f.Fuzz(func(t *testing.T, id string, created int64, model, role, content string) {
		c := llm.Chunk{Role: role, Content: content}
		got, ok := AppendChunk(nil, id, created, model, &c)
		if !ok {
			if role != "" || content != "" {
				t.Fatalf("refused a role/content chunk %+v", c)
			}
			return
		}
		want, err := json.Marshal(NewChunk(id, created, model, &c))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("AppendChunk =\n%q\nwant\n%q", got, want)
		}
	})
}

func BenchmarkChunkEncode(b *testing.B) {
	c := llm.Chunk{Content: " Paris"}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(NewChunk("chatcmpl-0123456789", 1700000000, "bedrock_haiku", &c))
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = AppendChunk(buf[:0], "chatcmpl-0123456789", 1700000000, "bedrock_haiku", &c)
		}
	})
}
