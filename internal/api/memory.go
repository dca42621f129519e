package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
)

// longTermMemory is implemented by memory.Memory. Every call is scoped to
// the caller's tenant; the user is the one the request names.
type longTermMemory interface {
	Submit(ctx context.Context, in memory.Interaction) (string, error)
	Facts(ctx context.Context, k memory.Key, f memory.FactFilter) ([]memory.Fact, error)
	Episodes(ctx context.Context, k memory.Key, q string, n int) ([]memory.EpisodeHit, error)
	ForgetUser(ctx context.Context, k memory.Key) error
}

// Bounds of GET /api/cato/memory/episodes.
const (
	defaultEpisodes = 5
	maxEpisodes     = 50
)

// interactionRequest is the body of POST /api/cato/memory/interactions.
type interactionRequest struct {
	Query     string `json:"query"`
	Response  string `json:"response"`
	Domain    string `json:"domain"`
	SessionID string `json:"session_id"`
	User      string `json:"user"`
}

// memoryErr makes a failure of the store a store_unavailable; memory's
// own refusals are described as they are.
func memoryErr(err error) error {
	switch {
	case errors.Is(err, memory.ErrInvalidKey), errors.Is(err, memory.ErrInvalidInteraction), errors.Is(err, memory.ErrDisabled),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("%w: long-term memory: %w", orchestrator.ErrStoreUnavailable, err)
}

// postInteraction queues an interaction for consolidation: 202 once it is
// durably queued.
func (s *Server) postInteraction(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in interactionRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.writeError(w, r, &openai.RequestError{Message: "the body must be a JSON object with \"query\" and \"response\": " + err.Error()})
		return
	}
	if in.Query == "" {
		s.writeError(w, r, &openai.RequestError{Param: "query", Message: "is required"})
		return
	}
	in.User, in.SessionID = who(r, in.User, in.SessionID)
	id, err := s.opt.Memory.Submit(r.Context(), memory.Interaction{
		Tenant: tenantOf(r.Context()), User: in.User, SessionID: in.SessionID, Domain: in.Domain,
		Query: in.Query, Response: in.Response, Source: "api",
	})
	if err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id})
}

// memoryQuery reads the query parameters of a memory GET: only those in
// allowed, each at most once.
func memoryQuery(r *http.Request, allowed ...string) (url.Values, error) {
	q := r.URL.Query()
	for k, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return nil, &openai.RequestError{Param: k, Message: "is not a parameter of " + r.URL.Path}
		}
		if len(vs) != 1 {
			return nil, &openai.RequestError{Param: k, Message: "given more than once"}
		}
	}
	return q, nil
}

// memoryUser returns whose memory a request reads: the user parameter,
// else the X-Cato-User header, else the tenant's unnamed user.
func memoryUser(r *http.Request, q url.Values) memory.Key {
	user, _ := who(r, q.Get("user"), "")
	return memory.Key{Tenant: tenantOf(r.Context()), User: user}
}

type factDoc struct {
	ID         string    `json:"id"`
	Subject    string    `json:"subject"`
	Predicate  string    `json:"predicate"`
	Object     string    `json:"object"`
	Negated    bool      `json:"negated"`
	Statement  string    `json:"statement"`
	Domain     string    `json:"domain"`
	Confidence float64   `json:"confidence"`
	Source     string    `json:"source"`
	Sources    []string  `json:"sources"`
	SessionID  string    `json:"session_id,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
	// SupersededBy and SupersededAt are set on superseded facts, which
	// only history=true returns.
	SupersededBy string     `json:"superseded_by,omitempty"`
	SupersededAt *time.Time `json:"superseded_at,omitempty"`
}

// getFacts lists the user's facts of a domain (or all), current ones, or
// all with history=true.
func (s *Server) getFacts(w http.ResponseWriter, r *http.Request) {
	q, err := memoryQuery(r, "domain", "user", "history")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := memory.FactFilter{Domain: q.Get("domain")}
	if h := q.Get("history"); h != "" {
		if f.History, err = strconv.ParseBool(h); err != nil {
			s.writeError(w, r, &openai.RequestError{Param: "history", Message: "must be true or false"})
			return
		}
	}
	facts, err := s.opt.Memory.Facts(r.Context(), memoryUser(r, q), f)
	if err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	docs := make([]factDoc, len(facts))
	for i, fa := range facts {
		d := factDoc{ID: fa.ID, Subject: fa.Subject, Predicate: fa.Predicate, Object: fa.Object, Negated: fa.Negated,
			Statement: fa.Statement(), Domain: fa.Domain, Confidence: fa.Confidence, SessionID: fa.SessionID(),
			UpdatedAt: fa.UpdatedAt, SupersededBy: fa.SupersededBy, Sources: make([]string, len(fa.Sources))}
		for j, src := range fa.Sources {
			d.Sources[j] = src.Interaction
		}
		if len(d.Sources) > 0 {
			d.Source = d.Sources[len(d.Sources)-1]
		}
		if !fa.Current() {
			at := fa.SupersededAt
			d.SupersededAt = &at
		}
		docs[i] = d
	}
	writeJSON(w, http.StatusOK, map[string]any{"facts": docs})
}

type episodeDoc struct {
	ID        string    `json:"id"`
	Query     string    `json:"query"`
	Response  string    `json:"response"`
	Score     float32   `json:"score"`
	SessionID string    `json:"session_id,omitempty"`
	Domain    string    `json:"domain,omitempty"`
	At        time.Time `json:"at"`
}

// getEpisodes searches the user's episodes by meaning.
func (s *Server) getEpisodes(w http.ResponseWriter, r *http.Request) {
	q, err := memoryQuery(r, "q", "k", "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	text := q.Get("q")
	if text == "" {
		s.writeError(w, r, &openai.RequestError{Param: "q", Message: "is required"})
		return
	}
	k := defaultEpisodes
	if v := q.Get("k"); v != "" {
		if k, err = strconv.Atoi(v); err != nil || k < 1 || k > maxEpisodes {
			s.writeError(w, r, &openai.RequestError{Param: "k", Message: fmt.Sprintf("must be an integer from 1 to %d", maxEpisodes)})
			return
		}
	}
	hits, err := s.opt.Memory.Episodes(r.Context(), memoryUser(r, q), text, k)
	if err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	docs := make([]episodeDoc, len(hits))
	for i, h := range hits {
		docs[i] = episodeDoc{ID: h.ID, Query: h.Query, Response: h.Response, Score: h.Score, SessionID: h.SessionID, Domain: h.Domain, At: h.At}
	}
	writeJSON(w, http.StatusOK, map[string]any{"episodes": docs})
}

// deleteMemoryUser forgets every interaction, episode and fact of a user
// of the caller's tenant.
func (s *Server) deleteMemoryUser(w http.ResponseWriter, r *http.Request) {
	k := memory.Key{Tenant: tenantOf(r.Context()), User: r.PathValue("user")}
	if err := s.opt.Memory.ForgetUser(r.Context(), k); err != nil {
		s.writeError(w, r, memoryErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
