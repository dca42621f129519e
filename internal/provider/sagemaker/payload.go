package sagemaker

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cato-gateway/cato/internal/llm"
)

// Payload formats of Options.Payload.
const (
	PayloadSGLang = "sglang"
	PayloadOpenAI = "openai"
	PayloadTGI    = "tgi"
)

// payload is one container wire format.
type payload interface {
	// encode writes req as a request body; stream asks for a streamed
	// answer and hidden for hidden states.
	encode(req *llm.Request, stream, hidden bool) ([]byte, error)
	// decode reads a complete answer.
	decode(body []byte) (answer, error)
	// streamDecoder returns the decoder of one streamed answer.
	streamDecoder() streamDecoder
}

// answer is a decoded complete answer and its raw hidden states.
type answer struct {
	resp   *llm.Response
	hidden rawHidden
}

// rawHidden are hidden states as the container sent them, before
// reduction. The zero value means none were sent.
type rawHidden struct {
	// last is the last layer's states (SGLang meta_info.hidden_states).
	last json.RawMessage
	// layers holds one entry per layer, in the same shape as last, when the
	// container sends several (meta_info.hidden_states_layers).
	layers json.RawMessage
}

func (h rawHidden) present() bool { return !isNull(h.last) || !isNull(h.layers) }

// streamDecoder turns the data of the server-sent events of one streamed
// answer into chunks.
type streamDecoder interface {
	// event decodes one event's data. done reports the end of the answer;
	// hidden carries hidden states when the event had them.
	event(data []byte) (chunks []llm.Chunk, hidden rawHidden, done bool, err error)
}

func payloadFor(name, model string) (payload, error) {
	switch name {
	case PayloadSGLang, "":
		return sglang{}, nil
	case PayloadOpenAI:
		return chatPayload{model: model}, nil
	case PayloadTGI:
		return tgi{}, nil
	}
	return nil, fmt.Errorf("payload %q is not sglang, openai or tgi", name)
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}
