package rollout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
)

// answerText extracts the assistant's text from an OpenAI chat completion
// response body: choices[0].message.content of a JSON body, or the
// choices[0].delta.content of every event of a server-sent event stream,
// joined. Anything it cannot read contributes nothing.
func answerText(body []byte) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var resp struct {
			Choices []struct {
				Message struct {
					Content json.RawMessage `json:"content"`
				} `json:"message"`
			} `json:"choices"`
		}
		if json.Unmarshal(trimmed, &resp) == nil && len(resp.Choices) > 0 {
			return contentText(resp.Choices[0].Message.Content)
		}
		return ""
	}
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	for sc.Scan() {
		line := sc.Bytes()
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 || bytes.Equal(data, []byte("[DONE]")) {
			continue
		}
		var chunk struct {
			Choices []struct {
				Index int `json:"index"`
				Delta struct {
					Content json.RawMessage `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal(data, &chunk) != nil {
			continue
		}
		for _, c := range chunk.Choices {
			if c.Index == 0 {
				b.WriteString(contentText(c.Delta.Content))
			}
		}
	}
	return b.String()
}

// contentText reads a content field: a string, or an array of parts whose
// text parts are joined.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// answerUsage reads the token usage of an OpenAI chat completion response
// body: the usage object of a JSON body, or of the last event of a stream
// that carries one (streams carry it when the client asked with
// stream_options.include_usage). ok is false when the body has none.
func answerUsage(body []byte) (in, out int, ok bool) {
	type usage struct {
		Usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var u usage
		if json.Unmarshal(trimmed, &u) != nil || u.Usage == nil {
			return 0, 0, false
		}
		return u.Usage.PromptTokens, u.Usage.CompletionTokens, true
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), len(body)+1)
	for sc.Scan() {
		data, found := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !found || !bytes.Contains(data, []byte(`"usage"`)) {
			continue
		}
		var u usage
		if json.Unmarshal(bytes.TrimSpace(data), &u) == nil && u.Usage != nil {
			in, out, ok = u.Usage.PromptTokens, u.Usage.CompletionTokens, true
		}
	}
	return in, out, ok
}

// Price is what a million tokens of a model cost, in US dollars.
type Price struct {
	InputPerMTok, OutputPerMTok float64
}

// cost prices an answer's usage read from body; ok is false when p is nil
// or the body carries no usage.
func (p *Price) cost(body []byte) (usd float64, ok bool) {
	if p == nil {
		return 0, false
	}
	in, out, ok := answerUsage(body)
	if !ok || in < 0 || out < 0 {
		return 0, false
	}
	return (float64(in)*p.InputPerMTok + float64(out)*p.OutputPerMTok) / 1e6, true
}
