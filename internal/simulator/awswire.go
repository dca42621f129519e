package simulator

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// awsEvents writes an AWS event stream (application/vnd.amazon.eventstream)
// as Bedrock and SageMaker frame their streamed answers, flushing each
// frame. It is not safe for concurrent use.
type awsEvents struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	enc *eventstream.Encoder
}

func startAWSEvents(w http.ResponseWriter) *awsEvents {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	return &awsEvents{w: w, rc: http.NewResponseController(w), enc: eventstream.NewEncoder()}
}

// event writes one event frame; payload is sent as is, with contentType.
func (e *awsEvents) event(eventType, contentType string, payload []byte) error {
	err := e.enc.Encode(e.w, eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":event-type", Value: eventstream.StringValue(eventType)},
			{Name: ":content-type", Value: eventstream.StringValue(contentType)},
		},
		Payload: payload,
	})
	if err != nil {
		return err
	}
	return e.rc.Flush()
}

// jsonEvent writes one event frame whose payload is v as JSON.
func (e *awsEvents) jsonEvent(eventType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.event(eventType, "application/json", b)
}

// writeAWSError answers as an AWS JSON service does when it rejects a call:
// the error code in X-Amzn-ErrorType and a JSON body.
func writeAWSError(w http.ResponseWriter, status int, code string, body any) {
	w.Header().Set("X-Amzn-ErrorType", code)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}
