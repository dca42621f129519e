package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
)

// sagemakerRoutes registers the SageMaker Runtime wire: InvokeEndpoint and
// InvokeEndpointWithResponseStream. The payload format is read from the
// body: SGLang's /generate ("text", hidden states inline), the OpenAI chat
// body ("messages"), the text-generation body ("inputs" as a string) and
// the text-classification body of an NLI model ("inputs" with "text" and
// "text_pair"). The endpoint name names the engine. Signatures are not
// checked.
func (s *Server) sagemakerRoutes() {
	s.mux.HandleFunc("POST /endpoints/{name}/invocations", s.sagemaker(false))
	s.mux.HandleFunc("POST /endpoints/{name}/invocations-response-stream", s.sagemaker(true))
}

// smRequest is what the simulator reads of any payload format.
type smRequest struct {
	Text           *string         `json:"text"`
	Messages       json.RawMessage `json:"messages"`
	Inputs         json.RawMessage `json:"inputs"`
	SamplingParams struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"sampling_params"`
	Parameters struct {
		MaxNewTokens int `json:"max_new_tokens"`
	} `json:"parameters"`
	ReturnHiddenStates bool `json:"return_hidden_states"`
	Stream             bool `json:"stream"`
}

func (s *Server) sagemaker(stream bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		if err != nil {
			writeAWSError(w, http.StatusRequestEntityTooLarge, "ValidationError", map[string]string{"Message": err.Error()})
			return
		}
		var sr smRequest
		if err := json.Unmarshal(body, &sr); err != nil {
			writeModelError(w, http.StatusBadRequest, "the body is not JSON: "+err.Error())
			return
		}
		variant := r.Header.Get("X-Amzn-SageMaker-Target-Variant")
		if variant == "" {
			variant = "AllTraffic"
		}
		w.Header().Set("X-Amzn-Invoked-Production-Variant", variant)
		e := s.Engine(name)
		ctx := r.Context()
		fault := e.Fault()
		switch fault {
		case StallFault:
			<-ctx.Done()
			return
		case ErrorFault:
			writeModelError(w, e.cfg.ErrorStatus, "simulated failure of "+e.name)
			return
		}
		if e.Wait(ctx) != nil {
			return
		}

		var format smFormat
		switch {
		case sr.Text != nil:
			format = &sglangFormat{hidden: sr.ReturnHiddenStates}
		case len(sr.Messages) > 0:
			format = &chatFormat{}
		case len(sr.Inputs) > 0 && sr.Inputs[0] == '{':
			if stream {
				writeModelError(w, http.StatusBadRequest, "text classification does not stream")
				return
			}
			writeJSON(w, http.StatusOK, nliScores(sr.Inputs))
			return
		case len(sr.Inputs) > 0:
			format = &tgiFormat{}
		default:
			writeModelError(w, http.StatusBadRequest, `the body has none of "text", "messages" or "inputs"`)
			return
		}
		req, err := format.request(body, &sr)
		if err != nil {
			writeModelError(w, http.StatusBadRequest, err.Error())
			return
		}
		req.Model = name
		reply := e.Answer(req)
		id := nextID("sim-")
		var hidden *llm.HiddenStates
		if req.HiddenStates {
			hidden = e.HiddenStates(req)
		}
		if !stream {
			if fault == ResetFault {
				panic(http.ErrAbortHandler)
			}
			writeJSON(w, http.StatusOK, format.answer(id, name, req, reply, hidden))
			return
		}
		ev := startAWSEvents(w)
		part := func(v any) error {
			var buf bytes.Buffer
			if s, ok := v.(string); ok {
				buf.WriteString("data: " + s + "\n\n")
			} else {
				b, err := json.Marshal(v)
				if err != nil {
					return err
				}
				if err := openai.WriteEvent(&buf, b); err != nil {
					return err
				}
			}
			return ev.event("PayloadPart", "application/octet-stream", buf.Bytes())
		}
		gap := e.TokenGap()
		for i := range reply.Tokens {
			if part(format.chunk(id, name, reply, i)) != nil {
				return
			}
			if fault == ResetFault {
				panic(http.ErrAbortHandler)
			}
			if i < len(reply.Tokens)-1 && sleep(ctx, gap) != nil {
				return
			}
		}
		for _, v := range format.end(id, name, req, reply, hidden) {
			if part(v) != nil {
				return
			}
		}
	}
}

// writeModelError answers as SageMaker does when the container fails: a
// ModelError carrying the container's own status.
func writeModelError(w http.ResponseWriter, status int, msg string) {
	writeAWSError(w, http.StatusFailedDependency, "ModelError", map[string]any{
		"Message":            fmt.Sprintf("Received error (%d) from primary with message %q", status, msg),
		"OriginalStatusCode": status,
		"OriginalMessage":    msg,
	})
}

// smFormat is one container payload format.
type smFormat interface {
	request(body []byte, sr *smRequest) (*llm.Request, error)
	// answer is a complete answer.
	answer(id, model string, req *llm.Request, reply Reply, hidden *llm.HiddenStates) any
	// chunk is the streamed event after token i; a string is sent as raw
	// event data.
	chunk(id, model string, reply Reply, i int) any
	// end are the events that end a stream.
	end(id, model string, req *llm.Request, reply Reply, hidden *llm.HiddenStates) []any
}

// sglangFormat speaks SGLang's /generate.
type sglangFormat struct{ hidden bool }

func (f *sglangFormat) request(_ []byte, sr *smRequest) (*llm.Request, error) {
	return &llm.Request{Messages: parseChatML(*sr.Text), MaxTokens: sr.SamplingParams.MaxNewTokens, HiddenStates: f.hidden}, nil
}

func (f *sglangFormat) meta(id string, reply Reply, done bool, hidden *llm.HiddenStates) map[string]any {
	m := map[string]any{"id": id, "finish_reason": nil, "prompt_tokens": reply.Usage.PromptTokens, "completion_tokens": reply.Usage.CompletionTokens}
	if done {
		m["finish_reason"] = map[string]string{"type": "stop"}
	}
	if hidden != nil {
		// SGLang's shape: the prompt's per-token matrix, then one vector
		// per generated token. Every row is the engine's vector, so both
		// poolings give it back.
		m["hidden_states"] = []any{[][]float32{hidden.Values}, hidden.Values}
	}
	return m
}

func (f *sglangFormat) answer(id, _ string, _ *llm.Request, reply Reply, hidden *llm.HiddenStates) any {
	return map[string]any{"text": reply.Text(), "meta_info": f.meta(id, reply, true, hidden)}
}

func (f *sglangFormat) chunk(id, _ string, reply Reply, i int) any {
	r := Reply{Tokens: reply.Tokens[:i+1], Usage: llm.Usage{PromptTokens: reply.Usage.PromptTokens, CompletionTokens: i + 1}}
	return map[string]any{"text": r.Text(), "meta_info": f.meta(id, r, false, nil)}
}

func (f *sglangFormat) end(id, model string, req *llm.Request, reply Reply, hidden *llm.HiddenStates) []any {
	return []any{f.answer(id, model, req, reply, hidden), openai.Done}
}

// chatFormat speaks the OpenAI chat body of vLLM and SGLang containers.
type chatFormat struct{ includeUsage bool }

func (f *chatFormat) request(body []byte, _ *smRequest) (*llm.Request, error) {
	cr, err := openai.DecodeChatRequest(body)
	if err != nil {
		return nil, err
	}
	if hs, ok := cr.Extra["return_hidden_states"]; ok && bytes.Equal(bytes.TrimSpace(hs), []byte("true")) {
		cr.HiddenStates = true
	}
	f.includeUsage = cr.IncludeUsage
	return &cr.Request, nil
}

func (f *chatFormat) answer(id, model string, _ *llm.Request, reply Reply, hidden *llm.HiddenStates) any {
	resp := &llm.Response{ID: id, Message: llm.Message{Role: llm.RoleAssistant, Content: reply.Text()}, FinishReason: llm.FinishStop, Usage: reply.Usage}
	out := openai.NewChatResponse(id, time.Now().Unix(), model, resp)
	if hidden != nil {
		out.Choices[0].HiddenStates, _ = json.Marshal(hidden.Values)
	}
	return out
}

func (f *chatFormat) chunk(id, model string, reply Reply, i int) any {
	c := llm.Chunk{Content: reply.Tokens[i]}
	if i == 0 {
		c.Role = llm.RoleAssistant
	}
	return openai.NewChunk(id, time.Now().Unix(), model, &c)
}

func (f *chatFormat) end(id, model string, _ *llm.Request, reply Reply, hidden *llm.HiddenStates) []any {
	now := time.Now().Unix()
	out := []any{openai.NewChunk(id, now, model, &llm.Chunk{FinishReason: llm.FinishStop})}
	if hidden != nil {
		hs, _ := json.Marshal(hidden.Values)
		c := openai.NewChunk(id, now, model, &llm.Chunk{})
		c.Choices = []openai.Choice{{Delta: &openai.WireMessage{}, HiddenStates: hs}}
		out = append(out, c)
	}
	if f.includeUsage {
		c := openai.NewChunk(id, now, model, &llm.Chunk{})
		c.Choices, c.Usage = []openai.Choice{}, openai.UsageOf(reply.Usage)
		out = append(out, c)
	}
	return append(out, openai.Done)
}

// tgiFormat speaks the inputs/parameters body of text-generation containers.
type tgiFormat struct{}

func (tgiFormat) request(_ []byte, sr *smRequest) (*llm.Request, error) {
	var prompt string
	if err := json.Unmarshal(sr.Inputs, &prompt); err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	return &llm.Request{Messages: parseChatML(prompt), MaxTokens: sr.Parameters.MaxNewTokens}, nil
}

func tgiDetails(reply Reply) map[string]any {
	return map[string]any{"finish_reason": "eos_token", "generated_tokens": reply.Usage.CompletionTokens, "seed": nil,
		"input_length": reply.Usage.PromptTokens, "prefill": make([]map[string]any, reply.Usage.PromptTokens)}
}

func (tgiFormat) answer(_, _ string, _ *llm.Request, reply Reply, _ *llm.HiddenStates) any {
	return []any{map[string]any{"generated_text": reply.Text(), "details": tgiDetails(reply)}}
}

func (tgiFormat) chunk(_, _ string, reply Reply, i int) any {
	return map[string]any{"index": i + 1, "token": map[string]any{"id": i, "text": reply.Tokens[i], "logprob": -0.1, "special": false},
		"generated_text": nil, "details": nil}
}

func (tgiFormat) end(_, _ string, _ *llm.Request, reply Reply, _ *llm.HiddenStates) []any {
	d := tgiDetails(reply)
	delete(d, "prefill")
	return []any{map[string]any{"index": len(reply.Tokens) + 1, "token": map[string]any{"id": 0, "text": "</s>", "logprob": 0, "special": true},
		"generated_text": reply.Text(), "details": d}}
}

// parseChatML reads a ChatML prompt back into messages; text that is not
// ChatML is one user message.
func parseChatML(prompt string) []llm.Message {
	var msgs []llm.Message
	for _, seg := range strings.Split(prompt, "<|im_start|>") {
		body, _, _ := strings.Cut(seg, "<|im_end|>")
		role, content, ok := strings.Cut(body, "\n")
		if !ok || role == "" || (role == llm.RoleAssistant && strings.TrimSpace(content) == "") {
			continue
		}
		msgs = append(msgs, llm.Message{Role: role, Content: content})
	}
	if len(msgs) == 0 {
		msgs = []llm.Message{{Role: llm.RoleUser, Content: prompt}}
	}
	return msgs
}

// nliScores answers a text-classification request for a sentence pair with
// deterministic MNLI scores: the same sentences entail, a pair where one
// side is negated contradicts, anything else is neutral.
func nliScores(inputs json.RawMessage) []map[string]any {
	var in struct {
		Text     string `json:"text"`
		TextPair string `json:"text_pair"`
	}
	_ = json.Unmarshal(inputs, &in)
	norm := func(s string) string { return strings.ToLower(strings.Trim(strings.TrimSpace(s), ".!")) }
	negated := func(s string) bool {
		for _, w := range strings.Fields(norm(s)) {
			switch w {
			case "not", "no", "never", "isn't", "doesn't", "don't", "cannot", "can't":
				return true
			}
		}
		return false
	}
	scores := map[string]float64{"ENTAILMENT": 0.05, "NEUTRAL": 0.9, "CONTRADICTION": 0.05}
	switch {
	case norm(in.Text) == norm(in.TextPair):
		scores = map[string]float64{"ENTAILMENT": 0.96, "NEUTRAL": 0.03, "CONTRADICTION": 0.01}
	case negated(in.Text) != negated(in.TextPair):
		scores = map[string]float64{"ENTAILMENT": 0.01, "NEUTRAL": 0.04, "CONTRADICTION": 0.95}
	}
	out := make([]map[string]any, 0, 3)
	for _, l := range []string{"CONTRADICTION", "NEUTRAL", "ENTAILMENT"} {
		out = append(out, map[string]any{"label": l, "score": scores[l]})
	}
	return out
}
