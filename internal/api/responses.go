package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
	"github.com/cato-gateway/cato/internal/rollout"
)

// degradedResponseStore names, in cato.degraded, a response that could not
// be stored for previous_response_id.
const degradedResponseStore = "response_store"

// responsesCall is a /v1/responses request as read: decoded, and the body
// as sent, which the legacy side gets unchanged.
type responsesCall struct {
	req  *openai.ResponsesRequest
	body []byte
}

// responsesEndpoint is /v1/responses behind the rollout. On the new side
// the request is answered as a chat request through the orchestrator,
// like a chat completion; on the legacy side it is proxied unchanged to
// the legacy server's /v1/responses. The rollout reads who is asking from,
// and mirrors new-side answers with, the request as a chat completion
// (without the conversation of previous_response_id, which only the new
// side has). Legacy answers are not mirrored: their text is not in chat
// completions' shape.
func (s *Server) responsesEndpoint() *twoSided[*responsesCall] {
	return &twoSided[*responsesCall]{
		s:     s,
		route: "responses",
		read: func(w http.ResponseWriter, r *http.Request) (*responsesCall, []byte, error) {
			body, err := s.readBody(w, r)
			if err != nil {
				return nil, nil, err
			}
			req, err := openai.DecodeResponsesRequest(body)
			if err != nil {
				return nil, nil, err
			}
			return &responsesCall{req: req, body: body}, responsesChatBody(req), nil
		},
		legacy: func(w http.ResponseWriter, r *http.Request, c *responsesCall, _ []byte, id rollout.Identity) rollout.Answer {
			return s.opt.Rollout.Legacy.Proxy(w, r, id, c.body)
		},
		answer: s.responses,
	}
}

// responsesChatBody is req as a chat completions body, for the rollout:
// its input without item references, and its user and session.
func responsesChatBody(req *openai.ResponsesRequest) []byte {
	conv, err := req.Conversation(nil, func(string) ([]llm.Message, error) { return nil, nil })
	if err != nil {
		conv = nil // only previous_response_id: the identity still counts
	}
	chat := req.ChatRequest(conv)
	if req.SessionID != "" {
		sid, _ := json.Marshal(req.SessionID)
		extra := make(map[string]json.RawMessage, len(chat.Extra)+1)
		for k, v := range chat.Extra {
			extra[k] = v
		}
		extra["session_id"] = sid
		chat.Extra = extra
	}
	b, err := openai.EncodeRequest(chat, req.Model, false)
	if err != nil {
		return nil
	}
	return b
}

// responses answers a Responses API request on the new side.
func (s *Server) responses(w http.ResponseWriter, r *http.Request, c *responsesCall) answered {
	start := time.Now()
	ctx := r.Context()
	req := c.req
	tenant := tenantOf(ctx)
	conv, err := s.conversation(ctx, tenant, req)
	if err != nil {
		s.writeError(w, r, err)
		return answered{err: err}
	}
	user, session := who(r, req.User, req.SessionID)
	q := &orchestrator.Query{
		Tenant: tenant, User: user, SessionID: session, Request: req.ChatRequest(conv),
		Domain: req.Cato.Domain, Cache: req.Cato.Cache, Memory: req.Cato.Memory,
		Models: allowedModels(ctx),
	}
	rc := &responseCall{req: req, tenant: tenant, session: session, conv: conv, id: openai.NewResponseID(), start: start}
	if req.Stream {
		return s.streamResponse(w, r, q, rc)
	}
	ans, err := s.opt.Orchestrator.Answer(ctx, q)
	if err != nil {
		s.writeError(w, r, err)
		return answered{err: err}
	}
	s.setCatoHeaders(w, ans.Model, ans.CacheOutcome, ans.Routing)
	out := openai.NewResponse(rc.id, start.Unix(), ans.Model, req)
	out.Complete(ans.Response)
	degraded := s.storeResponse(ctx, rc, out)
	out.Cato = &openai.Meta{
		Model: ans.Model, Cached: ans.Cached, FallbackUsed: ans.FallbackUsed, SessionID: session,
		Routing: routingJSON(ans.Routing), LatencyMS: ms(time.Since(start)), CostUSD: ans.CostUSD,
		HiddenStates: ans.Response.HiddenStates, Degraded: append(ans.Degraded, degraded...),
	}
	writeJSON(w, http.StatusOK, out)
	return answeredBy(ans, out.OutputText())
}

// responseCall is what answering one Responses request needs beyond the
// query.
type responseCall struct {
	req     *openai.ResponsesRequest
	tenant  string
	session string
	// conv is the conversation answered, which a stored response keeps.
	conv  []llm.Message
	id    string
	start time.Time
}

// conversation returns the conversation req continues: the stored
// response of previous_response_id, then the input, with each
// item_reference replaced by the stored item it names.
func (s *Server) conversation(ctx context.Context, tenant string, req *openai.ResponsesRequest) ([]llm.Message, error) {
	loaded := map[string]*openai.StoredResponse{}
	load := func(id string) (*openai.StoredResponse, error) {
		if sr, ok := loaded[id]; ok {
			return sr, nil
		}
		rec, err := s.opt.Orchestrator.StoredResponse(ctx, tenant, id)
		if err != nil {
			return nil, err
		}
		sr, err := openai.UnmarshalStoredResponse(rec)
		if err != nil {
			return nil, err
		}
		loaded[id] = sr
		return sr, nil
	}
	var history []llm.Message
	if id := req.PreviousResponseID; id != "" {
		sr, err := load(id)
		if err != nil {
			return nil, err
		}
		history = sr.Messages()
	}
	return req.Conversation(history, func(item string) ([]llm.Message, error) {
		notFound := &openai.RequestError{Param: "input", Message: "Item with id '" + item + "' not found."}
		respID, ok := openai.ResponseOfItem(item)
		if !ok {
			return nil, notFound
		}
		sr, err := load(respID)
		if errors.Is(err, orchestrator.ErrResponseNotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		msgs, ok := sr.Item(item)
		if !ok {
			return nil, notFound
		}
		return msgs, nil
	})
}

// storeResponse keeps out, unless the client sent store: false, and
// returns what it could not do, for cato.degraded: the answer is sent
// either way.
func (s *Server) storeResponse(ctx context.Context, rc *responseCall, out *openai.Response) []string {
	if !rc.req.Store {
		return nil
	}
	rec, err := (&openai.StoredResponse{Conversation: rc.conv, Output: out.Output}).Marshal()
	if err == nil {
		err = s.opt.Orchestrator.StoreResponse(ctx, rc.tenant, out.ID, rec)
	}
	if err != nil {
		s.opt.Log.WarnContext(ctx, "storing a response failed; previous_response_id will not find it", "response_id", out.ID, slog.Any("err", err))
		return []string{degradedResponseStore}
	}
	return nil
}

// streamResponse answers with the Responses API's events. Errors before
// the first chunk get a normal error answer; later ones the error and
// response.failed events, since the status is already sent.
func (s *Server) streamResponse(w http.ResponseWriter, r *http.Request, q *orchestrator.Query, rc *responseCall) (res answered) {
	ctx := r.Context()
	sa, err := s.startStream(w, r, q)
	if err != nil {
		return answered{err: err}
	}
	defer sa.Close()
	defer func() { res.tokens, res.cost = tokensOf(sa.Usage(), sa.Cached), sa.CostUSD() }()
	flusher := http.NewResponseController(w)
	flushed := func(err error) bool { return err == nil && flusher.Flush() == nil }
	gone := func() answered { return answered{model: sa.Model, text: sa.Text(), err: clientGone(ctx)} }

	rs := openai.NewResponseStream(w, openai.NewResponse(rc.id, rc.start.Unix(), sa.Model, rc.req))
	if !flushed(rs.Begin()) {
		return gone()
	}
	var finish string
	var hidden *llm.HiddenStates
	meta := func(degraded []string) *openai.Meta {
		return &openai.Meta{
			Model: sa.Model, Cached: sa.Cached, FallbackUsed: sa.FallbackUsed, SessionID: q.SessionID,
			Routing: routingJSON(sa.Routing), LatencyMS: ms(time.Since(rc.start)), CostUSD: sa.CostUSD(),
			HiddenStates: hidden, Degraded: append(sa.Degraded, degraded...),
		}
	}
	for {
		c, err := sa.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if body, ok := s.streamFailed(ctx, sa.Model, err); ok {
				_ = rs.Fail(body.Error, meta(nil))
				_ = flusher.Flush()
			}
			return answered{model: sa.Model, text: sa.Text(), err: err}
		}
		if c.HiddenStates != nil {
			hidden = c.HiddenStates
		}
		if c.FinishReason != "" {
			finish = c.FinishReason
		}
		if !flushed(rs.Add(&c)) {
			return gone()
		}
	}
	final, err := rs.Finish(finish, sa.Usage())
	if !flushed(err) {
		return gone()
	}
	// Saving the turn and the response before the stream ends lets the
	// client's next turn find them.
	_ = sa.Close()
	degraded := s.storeResponse(ctx, rc, final)
	if !flushed(rs.Completed(meta(degraded))) {
		return gone()
	}
	return answered{model: sa.Model, text: sa.Text(), cached: sa.Cached, cost: sa.CostUSD()}
}
