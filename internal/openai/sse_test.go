package openai

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEventReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"two events", "data: a\n\ndata: b\n\n", []string{"a", "b"}},
		{"crlf and no space", "data:a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"comments and other fields", ": ping\nevent: message\nid: 3\ndata: x\n\n", []string{"x"}},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"a\nb"}},
		{"blank lines between", "\n\n\ndata: a\n\n\n", []string{"a"}},
		{"cut off last event", "data: a\n\ndata: b", []string{"a", "b"}},
		{"done", "data: {\"x\":1}\n\ndata: [DONE]\n\n", []string{`{"x":1}`, "[DONE]"}},
		{"field without data", "event: x\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewEventReader(strings.NewReader(tt.in))
			var got []string
			for {
				ev, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				got = append(got, string(ev))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	r := NewEventReader(strings.NewReader("data: " + long + "\n\n"))
	ev, err := r.Next()
	if err != nil || string(ev) != long {
		t.Fatalf("Next = %d bytes, %v; want the %d-byte line", len(ev), err, len(long))
	}
}

func TestWriteEventRefusesNewlines(t *testing.T) {
	if err := WriteEvent(io.Discard, []byte("a\nb")); err == nil {
		t.Error("WriteEvent accepted data with a newline; want an error")
	}
	var b bytes.Buffer
	if err := WriteEvent(&b, []byte(`{"a":1}`)); err != nil || b.String() != "data: {\"a\":1}\n\n" {
		t.Errorf("WriteEvent = %q, %v", b.String(), err)
	}
}

// FuzzEventReader checks that the reader never panics and that events it
// writes come back as they were.
func FuzzEventReader(f *testing.F) {
	for _, s := range []string{"data: a\n\n", "data:\n\n", ":\n", "data: a\r\ndata: b\r\n\r\n", "\r\r\n", "data: [DONE]\n\n", "event: x\ndata: y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewEventReader(bytes.NewReader(in))
		for range 10000 {
			if _, err := r.Next(); err != nil {
				break
			}
		}
		if bytes.ContainsAny(in, "\r\n") {
			return
		}
		var buf bytes.Buffer
		if err := WriteEvent(&buf, in); err != nil {
			t.Fatal(err)
		}
		got, err := NewEventReader(&buf).Next()
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("round trip of %q = %q, %v", in, got, err)
		}
	})
}
