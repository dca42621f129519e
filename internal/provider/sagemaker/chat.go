package sagemaker

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
)

// chatPayload is the OpenAI chat-completions body that vLLM and SGLang
// containers accept on /invocations. Hidden states are asked for with
// "return_hidden_states": true and come back in choices[0].hidden_states,
// as SGLang's OpenAI server returns them.
type chatPayload struct {
	model string
}

func (p chatPayload) encode(req *llm.Request, stream, hidden bool) ([]byte, error) {
	if hidden {
		r := *req
		r.Extra = maps.Clone(req.Extra)
		if r.Extra == nil {
			r.Extra = map[string]json.RawMessage{}
		}
		r.Extra["return_hidden_states"] = json.RawMessage("true")
		req = &r
	}
	return openai.EncodeRequest(req, p.model, stream)
}

func (chatPayload) decode(body []byte) (answer, error) {
	var r openai.ChatResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return answer{}, fmt.Errorf("decoding the chat answer: %w", err)
	}
	resp, err := r.ToResponse()
	if err != nil {
		return answer{}, err
	}
	return answer{resp: resp, hidden: rawHidden{last: r.Choices[0].HiddenStates}}, nil
}

func (chatPayload) streamDecoder() streamDecoder { return chatStream{} }

type chatStream struct{}

func (chatStream) event(data []byte) ([]llm.Chunk, rawHidden, bool, error) {
	if string(data) == openai.Done {
		return nil, rawHidden{}, true, nil
	}
	var r openai.ChatResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, rawHidden{}, false, fmt.Errorf("decoding a streamed chat chunk: %w", err)
	}
	var h rawHidden
	if len(r.Choices) > 0 {
		h.last = r.Choices[0].HiddenStates
	}
	c := r.ToChunk()
	if c.Role == "" && c.Content == "" && len(c.ToolCalls) == 0 && c.FinishReason == "" && c.Usage == nil && len(c.Extra) == 0 {
		return nil, h, false, nil // a chunk that only carried hidden states
	}
	return []llm.Chunk{c}, h, false, nil
}
