package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// bedrockRoutes registers the Bedrock Runtime wire: Converse and
// ConverseStream, InvokeModel and InvokeModelWithResponseStream with the
// Anthropic Messages body. Signatures are not checked. The model id in the
// path names the engine.
func (s *Server) bedrockRoutes() {
	s.mux.HandleFunc("POST /model/{id}/converse", s.bedrock(false, false))
	s.mux.HandleFunc("POST /model/{id}/converse-stream", s.bedrock(false, true))
	s.mux.HandleFunc("POST /model/{id}/invoke", s.bedrock(true, false))
	s.mux.HandleFunc("POST /model/{id}/invoke-with-response-stream", s.bedrock(true, true))
}

// bedrockRequest is what the simulator reads of a Converse body and of an
// Anthropic Messages body: both carry messages, a system prompt and a cap.
type bedrockRequest struct {
	// Converse
	InferenceConfig struct {
		MaxTokens int `json:"maxTokens"`
	} `json:"inferenceConfig"`
	// Anthropic Messages
	MaxTokens int `json:"max_tokens"`
	// Both; content is a list of blocks, or a string in Messages.
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	RawSystem json.RawMessage `json:"system"`
}

// blockText returns the text of a content value: a string, or the text of
// each block ({"text": …} in Converse, {"type": "text", "text": …} in
// Messages; tool results count by their text) joined by newlines.
func blockText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []struct {
		Text       string          `json:"text"`
		Content    json.RawMessage `json:"content"`
		ToolResult *struct {
			Content json.RawMessage `json:"content"`
		} `json:"toolResult"`
	}
	if json.Unmarshal(raw, &blocks) != nil {
		return ""
	}
	var parts []string
	for _, b := range blocks {
		switch {
		case b.Text != "":
			parts = append(parts, b.Text)
		case b.ToolResult != nil:
			parts = append(parts, blockText(b.ToolResult.Content))
		case len(b.Content) > 0:
			parts = append(parts, blockText(b.Content))
		}
	}
	return strings.Join(parts, "\n")
}

func (b *bedrockRequest) llmRequest(model string) *llm.Request {
	req := &llm.Request{Model: model, MaxTokens: b.InferenceConfig.MaxTokens}
	if b.MaxTokens > 0 {
		req.MaxTokens = b.MaxTokens
	}
	if sys := blockText(b.RawSystem); sys != "" {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleSystem, Content: sys})
	}
	for _, m := range b.Messages {
		req.Messages = append(req.Messages, llm.Message{Role: m.Role, Content: blockText(m.Content)})
	}
	return req
}

// bedrockErrorCode names the Bedrock exception for an injected status.
func bedrockErrorCode(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "ThrottlingException"
	case status == http.StatusBadRequest:
		return "ValidationException"
	case status == http.StatusRequestTimeout, status == http.StatusGatewayTimeout:
		return "ModelTimeoutException"
	case status == http.StatusInternalServerError:
		return "InternalServerException"
	}
	return "ServiceUnavailableException"
}

func (s *Server) bedrock(invoke, stream bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		if err != nil {
			writeAWSError(w, http.StatusRequestEntityTooLarge, "ValidationException", map[string]string{"message": err.Error()})
			return
		}
		var br bedrockRequest
		if err := json.Unmarshal(body, &br); err != nil || len(br.Messages) == 0 {
			writeAWSError(w, http.StatusBadRequest, "ValidationException", map[string]string{"message": "the body has no messages"})
			return
		}
		e := s.Engine(id)
		ctx := r.Context()
		fault := e.Fault()
		switch fault {
		case StallFault:
			<-ctx.Done()
			return
		case ErrorFault:
			writeAWSError(w, e.cfg.ErrorStatus, bedrockErrorCode(e.cfg.ErrorStatus),
				map[string]string{"message": "simulated failure of " + e.name})
			return
		}
		start := time.Now()
		if e.Wait(ctx) != nil {
			return
		}
		req := br.llmRequest(id)
		reply := e.Answer(req)
		stop := "end_turn"
		if req.MaxTokens > 0 && reply.Usage.CompletionTokens >= req.MaxTokens {
			stop = "max_tokens"
		}
		if !stream {
			if fault == ResetFault {
				panic(http.ErrAbortHandler)
			}
			if invoke {
				writeJSON(w, http.StatusOK, anthropicMessage(nextID("msg_sim_"), id, reply, stop))
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{
				"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": []any{map[string]string{"text": reply.Text()}}}},
				"stopReason": stop,
				"usage":      converseUsage(reply.Usage),
				"metrics":    map[string]int64{"latencyMs": time.Since(start).Milliseconds()},
			})
			return
		}
		ev := startAWSEvents(w)
		var send func(i int, tok string) error
		var finish func() error
		if invoke {
			msgID := nextID("msg_sim_")
			chunk := func(v any) error {
				b, err := json.Marshal(v)
				if err != nil {
					return err
				}
				return ev.jsonEvent("chunk", map[string][]byte{"bytes": b})
			}
			send = func(i int, tok string) error {
				if i == 0 {
					start := anthropicMessage(msgID, id, Reply{Usage: llm.Usage{PromptTokens: reply.Usage.PromptTokens, CompletionTokens: 1}}, "")
					start["content"], start["stop_reason"] = []any{}, nil
					if err := chunk(map[string]any{"type": "message_start", "message": start}); err != nil {
						return err
					}
					if err := chunk(map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]string{"type": "text", "text": ""}}); err != nil {
						return err
					}
				}
				return chunk(map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]string{"type": "text_delta", "text": tok}})
			}
			finish = func() error {
				for _, v := range []map[string]any{
					{"type": "content_block_stop", "index": 0},
					{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil}, "usage": map[string]int{"output_tokens": reply.Usage.CompletionTokens}},
					{"type": "message_stop", "amazon-bedrock-invocationMetrics": map[string]int64{
						"inputTokenCount": int64(reply.Usage.PromptTokens), "outputTokenCount": int64(reply.Usage.CompletionTokens),
						"invocationLatency": time.Since(start).Milliseconds(), "firstByteLatency": 0}},
				} {
					if err := chunk(v); err != nil {
						return err
					}
				}
				return nil
			}
		} else {
			send = func(i int, tok string) error {
				if i == 0 {
					if err := ev.jsonEvent("messageStart", map[string]string{"role": "assistant"}); err != nil {
						return err
					}
				}
				return ev.jsonEvent("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]string{"text": tok}})
			}
			finish = func() error {
				if err := ev.jsonEvent("contentBlockStop", map[string]int{"contentBlockIndex": 0}); err != nil {
					return err
				}
				if err := ev.jsonEvent("messageStop", map[string]string{"stopReason": stop}); err != nil {
					return err
				}
				return ev.jsonEvent("metadata", map[string]any{"usage": converseUsage(reply.Usage),
					"metrics": map[string]int64{"latencyMs": time.Since(start).Milliseconds()}})
			}
		}
		tokens := reply.Tokens
		if len(tokens) == 0 {
			tokens = []string{""}
		}
		gap := e.TokenGap()
		for i, tok := range tokens {
			if send(i, tok) != nil {
				return
			}
			if fault == ResetFault {
				panic(http.ErrAbortHandler)
			}
			if i < len(tokens)-1 && sleep(ctx, gap) != nil {
				return
			}
		}
		_ = finish()
	}
}

func converseUsage(u llm.Usage) map[string]int {
	return map[string]int{"inputTokens": u.PromptTokens, "outputTokens": u.CompletionTokens, "totalTokens": u.Total()}
}

// anthropicMessage is an InvokeModel answer in the Anthropic Messages shape.
func anthropicMessage(id, model string, reply Reply, stop string) map[string]any {
	return map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content":       []any{map[string]string{"type": "text", "text": reply.Text()}},
		"stop_reason":   stop,
		"stop_sequence": nil,
		"usage":         map[string]int{"input_tokens": reply.Usage.PromptTokens, "output_tokens": reply.Usage.CompletionTokens},
	}
}
