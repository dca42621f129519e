package rollout

import (
	"math"
	"testing"
	"unicode/utf8"
)

func TestAnswerText(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"json", `{"choices":[{"index":0,"message":{"role":"assistant","content":"4"}}]}`, "4"},
		{"json parts", `{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url"},{"type":"text","text":"b"}]}}]}`, "ab"},
		{"json null content", `{"choices":[{"message":{"content":null,"tool_calls":[]}}]}`, ""},
		{"json error", `{"error":{"message":"nope"}}`, ""},
		{"sse", "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\ndata:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n: comment\nevent: x\ndata: {\"choices\":[],\"usage\":{}}\n\ndata: [DONE]\n\n", "Hello"},
		{"sse other choice skipped", "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"B\"}},{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\n", "A"},
		{"sse cut mid-event", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: {\"choi", "ok"},
		{"garbage", "\x00\xff<html>", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answerText([]byte(tt.body)); got != tt.want {
				t.Errorf("answerText = %q; want %q", got, tt.want)
			}
		})
	}
}

// FuzzAnswerText checks that no response body makes the extractor panic
// and that a JSON answer's text comes back whole.
func FuzzAnswerText(f *testing.F) {
	for _, s := range []string{
		`{"choices":[{"message":{"content":"4"}}]}`,
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n",
		"data: \n\ndata: {}\n\ndata: {\"choices\":null}\n",
		`{"choices":[{"message":{"content":[{"type":"text","text":1}]}}]}`,
		"\r\ndata:\r\n",
		`{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got := answerText(body)
		if len(got) > len(body) && utf8.Valid(body) {
			t.Fatalf("answerText returned %d bytes from a %d-byte body", len(got), len(body))
		}
	})
}

func TestPriceCost(t *testing.T) {
	p := &Price{InputPerMTok: 1, OutputPerMTok: 4}
	tests := []struct {
		name   string
		body   string
		want   float64
		wantOK bool
	}{
		{"json", `{"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":500}}`, 0.003, true},
		{"stream with usage", "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":2000,\"completion_tokens\":0}}\n\ndata: [DONE]\n\n", 0.002, true},
		{"stream without usage", "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n", 0, false},
		{"json without usage", `{"choices":[]}`, 0, false},
		{"not json", `oops`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.cost([]byte(tt.body))
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("cost = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if _, ok := (*Price)(nil).cost([]byte(tests[0].body)); ok {
		t.Error("a nil price gave a cost")
	}
}
