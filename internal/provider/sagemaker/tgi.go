package sagemaker

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cato-gateway/cato/internal/llm"
)

// tgi is the inputs/parameters body of Hugging Face text-generation
// containers (TGI and the LMI containers that copy it).
type tgi struct{}

type tgiRequest struct {
	Inputs     string        `json:"inputs"`
	Parameters tgiParameters `json:"parameters"`
	Stream     bool          `json:"stream,omitempty"`
}

type tgiParameters struct {
	MaxNewTokens int      `json:"max_new_tokens,omitempty"`
	Temperature  *float64 `json:"temperature,omitempty"`
	TopP         *float64 `json:"top_p,omitempty"`
	Stop         []string `json:"stop,omitempty"`
	DoSample     *bool    `json:"do_sample,omitempty"`
	Seed         *int64   `json:"seed,omitempty"`
	// Grammar constrains the answer to a JSON Schema (response_format).
	Grammar        *tgiGrammar `json:"grammar,omitempty"`
	Details        bool        `json:"details"`
	ReturnFullText bool        `json:"return_full_text"`
	// DecoderInputDetails returns the prompt's tokens, which Cato counts
	// for usage; TGI refuses it on streams.
	DecoderInputDetails bool `json:"decoder_input_details,omitempty"`
}

type tgiGrammar struct {
	Type  string          `json:"type"` // always "json"
	Value json.RawMessage `json:"value"`
}

type tgiDetails struct {
	FinishReason    string            `json:"finish_reason"`
	GeneratedTokens int               `json:"generated_tokens"`
	Prefill         []json.RawMessage `json:"prefill"`
	InputLength     int               `json:"input_length"`
}

func (d *tgiDetails) finish() string {
	if d.FinishReason == "length" {
		return llm.FinishLength
	}
	return llm.FinishStop // eos_token, stop_sequence
}

func (d *tgiDetails) usage() llm.Usage {
	prompt := d.InputLength
	if prompt == 0 {
		prompt = len(d.Prefill)
	}
	return llm.Usage{PromptTokens: prompt, CompletionTokens: d.GeneratedTokens}
}

type tgiAnswer struct {
	GeneratedText string      `json:"generated_text"`
	Details       *tgiDetails `json:"details"`
}

func (tgi) encode(req *llm.Request, stream, _ bool) ([]byte, error) {
	p := tgiParameters{MaxNewTokens: req.TokenLimit(), TopP: req.TopP, Stop: req.Stop, Details: true, DecoderInputDetails: !stream}
	schema, err := responseSchema(req)
	if err != nil {
		return nil, err
	}
	if schema != nil {
		p.Grammar = &tgiGrammar{Type: "json", Value: schema}
	}
	if p.Seed, err = seed(req); err != nil {
		return nil, err
	}
	// TGI refuses a temperature of zero; greedy decoding is do_sample false.
	if t := req.Temperature; t != nil && *t > 0 {
		p.Temperature = t
	} else if t != nil {
		greedy := false
		p.DoSample = &greedy
	}
	return json.Marshal(tgiRequest{Inputs: chatMLPrompt(req.Messages), Parameters: p, Stream: stream})
}

func (tgi) decode(body []byte) (answer, error) {
	var a tgiAnswer
	// Containers answer with a list of one, or the object itself.
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		var list []tgiAnswer
		if err := json.Unmarshal(body, &list); err != nil {
			return answer{}, fmt.Errorf("decoding the text-generation answer: %w", err)
		}
		if len(list) == 0 {
			return answer{}, fmt.Errorf("the text-generation answer is an empty list")
		}
		a = list[0]
	} else if err := json.Unmarshal(body, &a); err != nil {
		return answer{}, fmt.Errorf("decoding the text-generation answer: %w", err)
	}
	r := &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: a.GeneratedText}, FinishReason: llm.FinishStop}
	if a.Details != nil {
		r.FinishReason, r.Usage = a.Details.finish(), a.Details.usage()
	}
	return answer{resp: r}, nil
}

func (tgi) streamDecoder() streamDecoder { return &tgiStream{} }

type tgiStream struct{ started bool }

type tgiEvent struct {
	Token *struct {
		Text    string `json:"text"`
		Special bool   `json:"special"`
	} `json:"token"`
	Details *tgiDetails `json:"details"`
}

func (s *tgiStream) event(data []byte) ([]llm.Chunk, rawHidden, bool, error) {
	var ev tgiEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, rawHidden{}, false, fmt.Errorf("decoding a streamed text-generation event: %w", err)
	}
	var out []llm.Chunk
	if ev.Token != nil && !ev.Token.Special && ev.Token.Text != "" || !s.started {
		c := llm.Chunk{}
		if ev.Token != nil && !ev.Token.Special {
			c.Content = ev.Token.Text
		}
		if !s.started {
			c.Role, s.started = llm.RoleAssistant, true
		}
		out = append(out, c)
	}
	if ev.Details != nil {
		u := ev.Details.usage()
		out = append(out, llm.Chunk{FinishReason: ev.Details.finish(), Usage: &u})
		return out, rawHidden{}, true, nil
	}
	return out, rawHidden{}, false, nil
}
