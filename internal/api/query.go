package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/router"
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

// toQuery returns the orchestrator's query for q, asked by a client of
// tenant whose key may use models (nil: any).
func (q *queryRequest) toQuery(tenant string, models []string) *orchestrator.Query {
	model := q.Model
	if model == "" {
		model = orchestrator.Auto
	}
	return &orchestrator.Query{
		Tenant: tenant, User: q.User, SessionID: q.SessionID, Domain: q.Domain,
		Cache: q.Cache, Memory: q.Memory, Models: models,
		Request: &llm.Request{
			Model: model, User: q.User, MaxTokens: q.MaxTokens, HiddenStates: q.HiddenStates,
			Messages: []llm.Message{{Role: llm.RoleUser, Content: q.Query}},
		},
	}
}

// queryEndpoint is /api/cato/query behind the rollout. The query is
// checked on either side; the legacy side gets it as a chat completion.
func (s *Server) queryEndpoint() *twoSided[*queryRequest] {
	return &twoSided[*queryRequest]{
		s:     s,
		route: "query",
		read: func(w http.ResponseWriter, r *http.Request) (*queryRequest, []byte, error) {
			q, err := s.decodeQuery(w, r)
			if err != nil {
				return nil, nil, err
			}
			return q, q.chatBody(), nil
		},
		legacy: s.legacyQuery,
		answer: s.query,
		shadow: s.shadowQuery,
	}
}

// query answers /api/cato/query on the new side.
func (s *Server) query(w http.ResponseWriter, r *http.Request, qr *queryRequest) answered {
	start := time.Now()
	ans, err := s.opt.Orchestrator.Answer(r.Context(), qr.toQuery(tenantOf(r.Context()), allowedModels(r.Context())))
	if err != nil {
		s.writeError(w, r, err)
		return answered{err: err}
	}
	s.setCatoHeaders(w, ans.Model, ans.CacheOutcome, ans.Routing)
	writeJSON(w, http.StatusOK, queryResponse{
		Response: ans.Response.Message.Content, Model: ans.Model, Cached: ans.Cached,
		FallbackUsed: ans.FallbackUsed, SessionID: qr.SessionID, Routing: routingJSON(ans.Routing),
		HiddenStates: ans.Response.HiddenStates,
		Usage:        queryUsage{ans.Response.Usage.PromptTokens, ans.Response.Usage.CompletionTokens},
		LatencyMS:    ms(time.Since(start)), CostUSD: ans.CostUSD, Degraded: ans.Degraded,
	})
	return answeredBy(ans, ans.Response.Message.Content)
}

// legacyQuery answers /api/cato/query on the legacy side: the query is
// sent to the legacy server as a chat completion and its answer returned in
// the native shape. The legacy server reports no routing, cache or cost.
// A failure is returned unanswered, for twoSided to answer.
func (s *Server) legacyQuery(w http.ResponseWriter, r *http.Request, q *queryRequest, chat []byte, _ rollout.Identity) rollout.Answer {
	ro := s.opt.Rollout
	ans := ro.Legacy.Call(r.Context(), legacyChatPath, chat)
	w.Header().Set(rollout.HeaderSide, rollout.SideLegacy.String())
	w.Header().Set("X-Cato-Model", ro.LegacyModel)
	if ans.Err == nil && ans.Status/100 != 2 {
		ans.Err = fmt.Errorf("%w: status %d", rollout.ErrLegacyUnavailable, ans.Status)
	}
	if ans.Err != nil {
		return ans
	}
	writeJSON(w, http.StatusOK, queryResponse{
		Response: ans.Text, Model: ro.LegacyModel, SessionID: q.SessionID,
		Routing:   routingJSON(router.Decision{Primary: ro.LegacyModel, Reason: "legacy side of the rollout"}),
		LatencyMS: ms(ans.Latency),
	})
	return ans
}

// shadowQuery answers a query the legacy side served on the new side, for
// the shadow comparison, leaving no state behind.
func (s *Server) shadowQuery(ctx context.Context, tenant string, qr *queryRequest) rollout.Answer {
	start := time.Now()
	q := qr.toQuery(tenant, nil)
	q.Shadow = true
	a, err := s.opt.Orchestrator.Answer(ctx, q)
	return shadowAnswer(a, err, start)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	qr, err := s.decodeQuery(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.opt.Orchestrator.Route(r.Context(), qr.toQuery(tenantOf(r.Context()), allowedModels(r.Context())))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, routingJSON(d))
}
