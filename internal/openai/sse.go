package openai

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxEventBytes caps one server-sent event's data; an upstream that sends
// more is broken or hostile.
const MaxEventBytes = 16 << 20

// ErrEventTooLarge is returned by EventReader.Next for an event over
// MaxEventBytes.
var ErrEventTooLarge = errors.New("server-sent event too large")

// EventReader reads the data of server-sent events. It is not safe for
// concurrent use.
type EventReader struct {
	r    *bufio.Reader
	data []byte
}

// NewEventReader returns a reader of the events in r.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 32<<10)}
}

// Next returns the data of the next event that has any (its data lines
// joined by "\n"), skipping comments and other fields. It returns io.EOF at
// the end of the input; an event cut off by the end of input is returned
// first if it had data. The returned slice is valid until the next call.
func (e *EventReader) Next() ([]byte, error) {
	e.data = e.data[:0]
	has := false
	for {
		line, err := e.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && has {
				return e.data, nil
			}
			return nil, err
		}
		if len(line) == 0 {
			if has {
				return e.data, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if string(name) != "data" {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if has {
			e.data = append(e.data, '\n')
		}
		if len(e.data)+len(value) > MaxEventBytes {
			return nil, ErrEventTooLarge
		}
		e.data = append(e.data, value...)
		has = true
	}
}

// readLine returns one line without its ending (\n, \r\n or \r\n).
func (e *EventReader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := e.r.ReadLine()
		if err != nil {
			return nil, err
		}
		if !isPrefix && line == nil {
			return chunk, nil
		}
		if len(line)+len(chunk) > MaxEventBytes {
			return nil, ErrEventTooLarge
		}
		line = append(line, chunk...)
		if !isPrefix {
			return line, nil
		}
	}
}

// Done is the data of the event that ends an OpenAI stream.
const Done = "[DONE]"

// WriteEvent writes one data-only event.
func WriteEvent(w io.Writer, data []byte) error {
	if bytes.ContainsAny(data, "\r\n") {
		return fmt.Errorf("event data must be one line")
	}
	buf := make([]byte, 0, len(data)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, data...)
	buf = append(buf, '\n', '\n')
	_, err := w.Write(buf)
	return err
}
