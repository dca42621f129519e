package loadtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReadBody(t *testing.T) {
	tests := []struct {
		name       string
		header     sample // model and cache from headers
		answers    bool
		body       string
		wantModel  string
		wantCache  string
		wantAnswer string
	}{
		{"headers say it all", sample{model: "h", cache: "hit"}, false, `{"model":"b","cato":{"cached":false}}`, "h", "hit", ""},
		{"chat body", sample{}, true, `{"model":"gpt","choices":[{"message":{"content":"4"}}],"cato":{"model":"bedrock_haiku","cached":true}}`, "bedrock_haiku", "hit", "4"},
		{"chat body not cached", sample{}, false, `{"model":"gpt","cato":{"cached":false}}`, "gpt", "miss", ""},
		{"plain openai", sample{}, true, `{"model":"gpt-4o-mini","choices":[{"message":{"content":"hi"}}]}`, "gpt-4o-mini", "", "hi"},
		{"query body", sample{}, true, `{"response":"4","model":"bedrock_haiku","cached":true}`, "bedrock_haiku", "hit", "4"},
		{"header model wins", sample{model: "h"}, false, `{"model":"b","cato":{"cached":true}}`, "h", "hit", ""},
		{"not json", sample{}, true, `<html>`, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := &exchanger{answers: tt.answers}
			s := tt.header
			answer, err := x.readBody(strings.NewReader(tt.body), &s)
			if err != nil {
				t.Fatalf("readBody: %v", err)
			}
			if s.model != tt.wantModel || s.cache != tt.wantCache || answer != tt.wantAnswer {
				t.Errorf("model %q cache %q answer %q; want %q %q %q", s.model, s.cache, answer, tt.wantModel, tt.wantCache, tt.wantAnswer)
			}
		})
	}
}

func TestReadStream(t *testing.T) {
	stream := strings.Join([]string{
		": keep-alive comment",
		`data: {"model":"m","choices":[{"delta":{"content":"Hel"}}]}`,
		"",
		`data:{"choices":[{"delta":{"content":"lo"}}]}`,
		"",
		"event: message",
		`data: {"choices":[],"usage":{"total_tokens":3},"cato":{"model":"bedrock_haiku","cached":true}}`,
		"",
		"data: [DONE]",
		"",
	}, "\n")
	x := &exchanger{answers: true}
	s := sample{intended: time.Now()}
	answer, err := x.readStream(strings.NewReader(stream), &s)
	if err != nil {
		t.Fatalf("readStream: %v", err)
	}
	if answer != "Hello" || s.model != "m" || s.cache != cacheHit {
		t.Errorf("answer %q model %q cache %q; want Hello, m (the first chunk's), hit", answer, s.model, s.cache)
	}
	if s.ttfb <= 0 || len(s.gaps) != 3 {
		t.Errorf("ttfb %v, %d gaps; want a positive ttfb and 3 gaps for 4 data events", s.ttfb, len(s.gaps))
	}
}

func TestReadStreamErrors(t *testing.T) {
	x := &exchanger{}
	s := sample{model: "m", cache: "hit"}
	if _, err := x.readStream(strings.NewReader("data: {}\n\ndata: {}\n"), &s); !errors.Is(err, errTruncated) {
		t.Errorf("stream without [DONE]: err = %v; want errTruncated", err)
	}
	long := "data: " + strings.Repeat("x", maxEventBytes+10) + "\n"
	if _, err := x.readStream(strings.NewReader(long), &s); err == nil || errors.Is(err, errTruncated) {
		t.Errorf("over-long event: err = %v; want a read error", err)
	}
}

func TestNormCache(t *testing.T) {
	got := []string{normCache("hit"), normCache(" MISS "), normCache("bypass"), normCache(""), normCache("stale")}
	want := []string{cacheHit, cacheMiss, cacheBypass, cacheUnknown, cacheOther}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("normCache (-want +got):\n%s", diff)
	}
}
