package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
)

// queryRequest is the body of /api/cato/query and /api/cato/route.
type queryRequest struct {
	Query        string `json:"query"`
	SessionID    string `json:"session_id"`
	User         string `json:"user"`
	Domain       string `json:"domain"`
	Model        string `json:"model"`
	HiddenStates bool   `json:"return_hidden_states"`
	Cache        *bool  `json:"cache"`
	Memory       *bool  `json:"memory"`
	MaxTokens    int    `json:"max_tokens"`
}

// queryResponse is the answer of /api/cato/query.
type queryResponse struct {
	Response     string            `json:"response"`
	Model        string            `json:"model"`
	Cached       bool              `json:"cached"`
	FallbackUsed bool              `json:"fallback_used"`
	SessionID    string            `json:"session_id,omitempty"`
	Routing      json.RawMessage   `json:"routing"`
	HiddenStates *llm.HiddenStates `json:"hidden_states"`
	Usage        queryUsage        `json:"usage"`
	LatencyMS    float64           `json:"latency_ms"`
	CostUSD      float64           `json:"cost_usd"`
	Degraded     []string          `json:"degraded,omitempty"`
}

type queryUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

func (s *Server) decodeQuery(w http.ResponseWriter, r *http.Request) (*queryRequest, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	var q queryRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return nil, &openai.RequestError{Message: "the body must be a JSON object with at least \"query\": " + err.Error()}
	}
	if q.Query == "" {
		return nil, &openai.RequestError{Param: "query", Message: "is required"}
	}
	if q.MaxTokens < 0 {
		return nil, &openai.RequestError{Param: "max_tokens", Message: "must not be negative"}
	}
	q.User, q.SessionID = who(r, q.User, q.SessionID)
	return &q, nil
}

// chatBody is the query as a chat completions request, which is what the
// legacy side understands.
func (q *queryRequest) chatBody() []byte {
	m := map[string]any{"model": orchestrator.Auto, "messages": []map[string]string{{"role": llm.RoleUser, "content": q.Query}}}
	if q.User != "" {
		m["user"] = q.User
	}
	if q.SessionID != "" {
		m["session_id"] = q.SessionID
	}
	if q.MaxTokens > 0 {
		m["max_tokens"] = q.MaxTokens
	}
	b, _ := json.Marshal(m)
	return b
}

func (q *queryRequest) toQuery(tenant string) *orchestrator.Query {
	model := q.Model
	if model == "" {
		model = orchestrator.Auto
	}
	return &orchestrator.Query{
		Tenant: tenant, User: q.User, SessionID: q.SessionID, Domain: q.Domain,
		Cache: q.Cache, Memory: q.Memory,
		Request: &llm.Request{
			Model: model, User: q.User, MaxTokens: q.MaxTokens, HiddenStates: q.HiddenStates,
			Messages: []llm.Message{{Role: llm.RoleUser, Content: q.Query}},
		},
	}
}

func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	model := "-"
	defer func() { s.opt.Metrics.ObserveRequest("query", model, codeText(sw.status), time.Since(start)) }()
	qr, err := s.decodeQuery(sw, r)
	if err != nil {
		s.writeError(sw, r, err)
		return
	}
	chat := qr.chatBody()
	if side, _ := s.side(r, chat); side == rollout.SideLegacy {
		model = "legacy"
		s.legacyQuery(sw, r, qr, chat)
		return
	}
	sw.Header().Set(rollout.HeaderSide, "new")
	var text string
	defer func() { s.observeNew("/v1/chat/completions", chat, text, sw.status, err, time.Since(start)) }()
	ans, err := s.opt.Orchestrator.Answer(r.Context(), qr.toQuery(tenantOf(r.Context())))
	if err != nil {
		s.writeError(sw, r, err)
		return
	}
	model, text = ans.Model, ans.Response.Message.Content
	s.setCatoHeaders(sw, ans.Model, ans.CacheOutcome, ans.Routing)
	writeJSON(sw, http.StatusOK, queryResponse{
		Response: ans.Response.Message.Content, Model: ans.Model, Cached: ans.Cached,
		FallbackUsed: ans.FallbackUsed, SessionID: qr.SessionID, Routing: routingJSON(ans.Routing),
		HiddenStates: ans.Response.HiddenStates,
		Usage:        queryUsage{ans.Response.Usage.PromptTokens, ans.Response.Usage.CompletionTokens},
		LatencyMS:    ms(time.Since(start)), CostUSD: ans.CostUSD, Degraded: ans.Degraded,
	})
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	qr, err := s.decodeQuery(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.opt.Orchestrator.Route(r.Context(), qr.toQuery(tenantOf(r.Context())))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, routingJSON(d))
}
