package sagemaker

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cato-gateway/cato/internal/llm"
)

// sglang is the body of SGLang's /generate: a prompt rendered with the
// chat template, sampling parameters, and hidden states inline in
// meta_info when return_hidden_states is set (the server must run with
// --enable-return-hidden-states).
type sglang struct{}

type sglangRequest struct {
	Text               string         `json:"text"`
	SamplingParams     sglangSampling `json:"sampling_params"`
	ReturnHiddenStates bool           `json:"return_hidden_states,omitempty"`
	Stream             bool           `json:"stream,omitempty"`
}

type sglangSampling struct {
	MaxNewTokens int      `json:"max_new_tokens,omitempty"`
	Temperature  *float64 `json:"temperature,omitempty"`
	TopP         *float64 `json:"top_p,omitempty"`
	Stop         []string `json:"stop,omitempty"`
	// JSONSchema constrains the answer to a schema (response_format),
	// given as a string as SGLang takes it.
	JSONSchema string `json:"json_schema,omitempty"`
}

// sglangAnswer is a /generate answer, and each event of a streamed one.
type sglangAnswer struct {
	Text     string `json:"text"`
	MetaInfo struct {
		ID               string          `json:"id"`
		FinishReason     json.RawMessage `json:"finish_reason"`
		PromptTokens     int             `json:"prompt_tokens"`
		CompletionTokens int             `json:"completion_tokens"`
		HiddenStates     json.RawMessage `json:"hidden_states"`
		// HiddenStatesLayers is not SGLang's: a container that returns
		// several layers puts them here (see docs/providers.md).
		HiddenStatesLayers json.RawMessage `json:"hidden_states_layers"`
	} `json:"meta_info"`
}

func (a *sglangAnswer) hidden() rawHidden {
	return rawHidden{last: a.MetaInfo.HiddenStates, layers: a.MetaInfo.HiddenStatesLayers}
}

// finish returns the OpenAI finish reason, or "" while the answer goes on.
// SGLang sends {"type": "stop" | "length" | "abort", …} or null.
func (a *sglangAnswer) finish() string {
	if isNull(a.MetaInfo.FinishReason) {
		return ""
	}
	var fr struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(a.MetaInfo.FinishReason, &fr); err != nil {
		var s string
		if json.Unmarshal(a.MetaInfo.FinishReason, &s) != nil {
			return llm.FinishStop
		}
		fr.Type = s
	}
	if fr.Type == "length" {
		return llm.FinishLength
	}
	return llm.FinishStop
}

func (a *sglangAnswer) usage() llm.Usage {
	return llm.Usage{PromptTokens: a.MetaInfo.PromptTokens, CompletionTokens: a.MetaInfo.CompletionTokens}
}

func (sglang) encode(req *llm.Request, stream, hidden bool) ([]byte, error) {
	schema, err := responseSchema(req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sglangRequest{
		Text: chatMLPrompt(req.Messages),
		SamplingParams: sglangSampling{
			MaxNewTokens: req.TokenLimit(), Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop,
			JSONSchema: string(schema),
		},
		ReturnHiddenStates: hidden,
		Stream:             stream,
	})
}

func (sglang) decode(body []byte) (answer, error) {
	var a sglangAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return answer{}, fmt.Errorf("decoding the SGLang answer: %w", err)
	}
	fin := a.finish()
	if fin == "" {
		fin = llm.FinishStop
	}
	return answer{
		resp: &llm.Response{ID: a.MetaInfo.ID, Message: llm.Message{Role: llm.RoleAssistant, Content: a.Text},
			FinishReason: fin, Usage: a.usage()},
		hidden: a.hidden(),
	}, nil
}

func (sglang) streamDecoder() streamDecoder { return &sglangStream{} }

// sglangStream decodes SGLang's streamed events. By default SGLang sends
// the whole text so far in each event; with --incremental-streaming-output
// it sends only the new text. Both are understood: text that does not
// extend what came before is taken as new.
type sglangStream struct {
	text    string
	started bool
}

func (s *sglangStream) event(data []byte) ([]llm.Chunk, rawHidden, bool, error) {
	if string(data) == "[DONE]" {
		return nil, rawHidden{}, true, nil
	}
	var a sglangAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, rawHidden{}, false, fmt.Errorf("decoding a streamed SGLang event: %w", err)
	}
	delta := a.Text
	if strings.HasPrefix(a.Text, s.text) {
		delta = a.Text[len(s.text):]
		s.text = a.Text
	} else {
		s.text += a.Text
	}
	var out []llm.Chunk
	if delta != "" || !s.started {
		c := llm.Chunk{ID: a.MetaInfo.ID, Content: delta}
		if !s.started {
			c.Role = llm.RoleAssistant
			s.started = true
		}
		out = append(out, c)
	}
	if fin := a.finish(); fin != "" {
		u := a.usage()
		out = append(out, llm.Chunk{ID: a.MetaInfo.ID, FinishReason: fin, Usage: &u})
		// SGLang ends with [DONE]; the finish event is enough.
		return out, a.hidden(), true, nil
	}
	return out, a.hidden(), false, nil
}
