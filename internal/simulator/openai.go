package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
)

var respSeq atomic.Uint64

func nextID(prefix string) string {
	return prefix + strconv.FormatUint(respSeq.Add(1), 36)
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", err.Error())
		return
	}
	req, err := openai.DecodeChatRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if hs, ok := req.Extra["return_hidden_states"]; ok && bytes.Equal(bytes.TrimSpace(hs), []byte("true")) {
		req.HiddenStates = true
	}
	e := s.Engine(req.Model)
	ctx := r.Context()
	fault := e.Fault()
	switch fault {
	case StallFault:
		<-ctx.Done()
		return
	case ErrorFault:
		writeError(w, e.cfg.ErrorStatus, "simulated_error", "simulated failure of "+e.name)
		return
	}
	if err := e.Wait(ctx); err != nil {
		return
	}
	reply := e.Answer(&req.Request)
	id := nextID("chatcmpl-sim-")
	created := time.Now().Unix()
	if !req.Stream {
		if fault == ResetFault {
			panic(http.ErrAbortHandler)
		}
		resp := &llm.Response{ID: id, Message: llm.Message{Role: llm.RoleAssistant, Content: reply.Text()}, FinishReason: llm.FinishStop, Usage: reply.Usage}
		out := openai.NewChatResponse(id, created, req.Model, resp)
		// n > 1: every choice is the same answer.
		for i := 1; i < req.N; i++ {
			c := out.Choices[0]
			c.Index = i
			out.Choices = append(out.Choices, c)
		}
		if req.HiddenStates {
			hs, _ := json.Marshal(e.HiddenStates(&req.Request).Values)
			out.Choices[0].HiddenStates = hs
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	s.stream(w, r, e, req, reply, id, created, fault)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, e *Engine, req *openai.ChatRequest, reply Reply, id string, created int64, fault Fault) {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	send := func(c *llm.Chunk) bool {
		b, err := json.Marshal(openai.NewChunk(id, created, req.Model, c))
		if err != nil {
			return false
		}
		if openai.WriteEvent(w, b) != nil || rc.Flush() != nil {
			return false
		}
		return true
	}
	gap := e.TokenGap()
	choices := max(req.N, 1) // n > 1: every choice is the same answer
	for i, tok := range reply.Tokens {
		for n := range choices {
			c := llm.Chunk{Index: n, Content: tok}
			if i == 0 {
				c.Role = llm.RoleAssistant
			}
			if !send(&c) {
				return
			}
		}
		if fault == ResetFault {
			panic(http.ErrAbortHandler)
		}
		if i < len(reply.Tokens)-1 && sleep(ctx, gap) != nil {
			return
		}
	}
	for n := range choices {
		if !send(&llm.Chunk{Index: n, FinishReason: llm.FinishStop}) {
			return
		}
	}
	if req.HiddenStates {
		hs, _ := json.Marshal(e.HiddenStates(&req.Request).Values)
		chunk := openai.NewChunk(id, created, req.Model, &llm.Chunk{})
		chunk.Choices = []openai.Choice{{Delta: &openai.WireMessage{}, HiddenStates: hs}}
		b, _ := json.Marshal(chunk)
		_ = openai.WriteEvent(w, b)
	}
	if req.IncludeUsage {
		u := reply.Usage
		chunk := openai.NewChunk(id, created, req.Model, &llm.Chunk{})
		chunk.Usage = openai.UsageOf(u)
		b, _ := json.Marshal(chunk)
		if openai.WriteEvent(w, b) != nil {
			return
		}
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}
