package awstest

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// EventWriter writes AWS event-stream frames. Written to an HTTP response,
// each frame is flushed so that the client sees it at once. It is not safe
// for concurrent use.
type EventWriter struct {
	w   io.Writer
	enc *eventstream.Encoder
}

// NewEventWriter returns a writer of frames to w.
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{w: w, enc: eventstream.NewEncoder()}
}

// StartEventStream writes the 200 response headers of an event stream and
// returns a writer for its frames.
func StartEventStream(w http.ResponseWriter) *EventWriter {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	return NewEventWriter(w)
}

// Event writes an event frame of type eventType whose payload is v as JSON
// (or v itself when it is a []byte, with contentType).
func (e *EventWriter) Event(eventType string, v any) error {
	payload, contentType := encodePayload(v)
	return e.frame(eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":event-type", Value: eventstream.StringValue(eventType)},
			{Name: ":content-type", Value: eventstream.StringValue(contentType)},
		},
		Payload: payload,
	})
}

// Exception writes an exception frame of type exceptionType (as the
// service's model names it: "modelStreamErrorException", "ModelStreamError")
// whose payload is v as JSON.
func (e *EventWriter) Exception(exceptionType string, v any) error {
	payload, contentType := encodePayload(v)
	return e.frame(eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
			{Name: ":exception-type", Value: eventstream.StringValue(exceptionType)},
			{Name: ":content-type", Value: eventstream.StringValue(contentType)},
		},
		Payload: payload,
	})
}

func (e *EventWriter) frame(m eventstream.Message) error {
	if err := e.enc.Encode(e.w, m); err != nil {
		return err
	}
	if rw, ok := e.w.(http.ResponseWriter); ok {
		_ = http.NewResponseController(rw).Flush()
	}
	return nil
}

func encodePayload(v any) ([]byte, string) {
	if b, ok := v.([]byte); ok {
		return b, "application/octet-stream"
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // test payloads are plain maps and structs
	}
	return b, "application/json"
}
