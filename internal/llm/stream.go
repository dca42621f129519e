package llm

import (
	"encoding/json"
	"io"
)

// Stream yields the chunks of one streamed answer. It is not safe for
// concurrent use. The caller must Close it, also after io.EOF; Close
// releases the upstream connection and ends any goroutine behind the stream.
type Stream interface {
	// Next returns the next chunk, or io.EOF after the last one.
	Next() (Chunk, error)
	Close() error
}

// Chunk is one piece of a streamed answer. Most chunks carry only Content.
type Chunk struct {
	ID            string
	UpstreamModel string
	// Index is the choice the chunk belongs to (requests with N > 1).
	Index   int
	Role    string
	Content string
	// ToolCalls are partial tool calls; Index tells which call a piece
	// belongs to.
	ToolCalls    []ToolCallDelta
	FinishReason string
	// Usage is set on the last chunk when the upstream reports it.
	Usage        *Usage
	HiddenStates *HiddenStates
	// Extra holds choice-level fields Cato does not interpret (logprobs…).
	Extra map[string]json.RawMessage
	// Raw is the upstream's chunk exactly as it came, when the upstream
	// speaks OpenAI's chat completions; nil otherwise. The fields above
	// are read from its first choice. Raw is valid until the next call of
	// Next on the stream that returned it: whoever keeps it longer copies
	// it.
	Raw []byte
}

// ToolCallDelta is a piece of a streamed tool call.
type ToolCallDelta struct {
	Index     int
	ID        string
	Name      string
	Arguments string
}

// SliceStream is a Stream over chunks already in memory, used for answers
// served from a cache or by an adapter that cannot stream.
type SliceStream struct {
	chunks []Chunk
}

// NewSliceStream returns a Stream that yields chunks in order.
func NewSliceStream(chunks ...Chunk) *SliceStream { return &SliceStream{chunks: chunks} }

// Next implements Stream.
func (s *SliceStream) Next() (Chunk, error) {
	if len(s.chunks) == 0 {
		return Chunk{}, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return c, nil
}

// Close implements Stream.
func (s *SliceStream) Close() error { s.chunks = nil; return nil }

// StreamOf returns the chunks a complete answer would have been streamed as:
// the role and content, then the finish reason with usage.
func StreamOf(r *Response) *SliceStream {
	first := Chunk{ID: r.ID, UpstreamModel: r.UpstreamModel, Role: RoleAssistant, Content: r.Message.Content, HiddenStates: r.HiddenStates}
	for i, tc := range r.Message.ToolCalls {
		first.ToolCalls = append(first.ToolCalls, ToolCallDelta{Index: i, ID: tc.ID, Name: tc.Name, Arguments: tc.Arguments})
	}
	u := r.Usage
	last := Chunk{ID: r.ID, UpstreamModel: r.UpstreamModel, FinishReason: r.FinishReason, Usage: &u}
	return NewSliceStream(first, last)
}
