package provider

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/google/go-cmp/cmp"
)

// endLog records what a peekedStream told its end.
type endLog struct {
	calls int
	usage llm.Usage
	err   error
}

func (e *endLog) streamEnded(u llm.Usage, err error) { e.calls++; e.usage, e.err = u, err }

func TestPeekedStream(t *testing.T) {
	usage := llm.Usage{PromptTokens: 3, CompletionTokens: 2}
	tests := []struct {
		name      string
		chunks    []llm.Chunk
		end       error // after the chunks
		closeAt   int   // Close after this many Next calls; -1: read to the end
		wantText  string
		wantErr   error // the error Next ended with; nil for io.EOF or an early Close
		wantOpen  error // peekFirst's error
		wantUsage llm.Usage
	}{
		{name: "read to the end", chunks: []llm.Chunk{{Content: "Hel"}, {Content: "lo", Usage: &usage}}, end: io.EOF, closeAt: -1, wantText: "Hello", wantUsage: usage},
		{name: "empty answer", end: io.EOF, closeAt: -1},
		{name: "broken off after the first chunk", chunks: textChunks("Hel"), end: syscall.ECONNRESET, closeAt: -1, wantText: "Hel", wantErr: syscall.ECONNRESET},
		{name: "closed early", chunks: textChunks("Hel", "lo"), end: io.EOF, closeAt: 1, wantText: "Hel"},
		{name: "fails before the first chunk", end: errUpstream, wantOpen: errUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &chunkStream{ctx: context.Background(), chunks: tt.chunks, end: tt.end}
			first, eof, err := peekFirst(up)
			if !errors.Is(err, tt.wantOpen) || (tt.wantOpen == nil) != (err == nil) {
				t.Fatalf("peekFirst() = %v; want %v", err, tt.wantOpen)
			}
			if err != nil {
				if !up.closed {
					t.Error("peekFirst left a failed stream open")
				}
				return
			}
			var log endLog
			var p peekedStream
			p.init(up, first, eof, &log)
			var text string
			var nextErr error
			for n := 0; tt.closeAt < 0 || n < tt.closeAt; n++ {
				c, err := p.Next()
				if err != nil {
					if err != io.EOF {
						nextErr = err
					}
					break
				}
				text += c.Content
			}
			p.Close()
			p.Close()
			if text != tt.wantText {
				t.Errorf("read %q; want %q", text, tt.wantText)
			}
			if !errors.Is(nextErr, tt.wantErr) {
				t.Errorf("Next ended with %v; want %v", nextErr, tt.wantErr)
			}
			if log.calls != 1 || !errors.Is(log.err, tt.wantErr) || (tt.wantErr == nil) != (log.err == nil) {
				t.Errorf("end told %d times, last with %v; want once with %v", log.calls, log.err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.wantUsage, log.usage); diff != "" {
				t.Errorf("usage told to end mismatch (-want +got):\n%s", diff)
			}
			if !up.closed {
				t.Error("Close did not close the model's stream")
			}
		})
	}
}

func TestAddressed(t *testing.T) {
	r := &llm.Request{Model: "a"}
	if got := addressed(r, "a"); got != r {
		t.Error("addressed(r, r.Model) copied the request; want r itself")
	}
	got := addressed(r, "b")
	if got == r || got.Model != "b" || r.Model != "a" {
		t.Errorf("addressed(r, b) = %+v (r.Model %q); want a copy for b, r untouched", got, r.Model)
	}
}
