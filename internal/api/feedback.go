package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
)

// Feedback holds what rates answers. With a nil *Feedback, answers are not
// remembered and /api/cato/feedback is not served.
type Feedback struct {
	// Recorder remembers each answer, off the request path. Required.
	Recorder *feedback.Recorder
	// Store rates remembered answers. Required.
	Store feedback.Store
	// OnRated, if set, is called after each accepted rating (metrics).
	OnRated func(feedback.Rated)
}

// remember has the Recorder remember an answer the endpoint route gave on
// side, so that it can be rated. Only answers that began (a 2xx status) are
// remembered: an error is not an answer to rate.
func (s *Server) remember(r *http.Request, w *response, side, model, route string, start time.Time) {
	fb := s.opt.Feedback
	if fb == nil || w.status < 200 || w.status > 299 {
		return
	}
	fb.Recorder.Record(feedback.Answer{
		Tenant:    tenantOf(r.Context()),
		RequestID: requestID(r.Context()),
		Side:      side,
		Model:     model,
		Route:     route,
		Cached:    w.Header().Get("X-Cato-Cache") == "hit",
		At:        start,
	})
}

// feedbackRequest is the body of POST /api/cato/feedback.
type feedbackRequest struct {
	// RequestID is the X-Request-Id of the rated answer; when empty, the
	// request's own X-Request-Id header names it.
	RequestID string `json:"request_id"`
	// Rating is -1, 0 or 1 (scale thumbs) or 1 to 5 (scale stars).
	Rating *json.Number `json:"rating"`
	// Scale is "thumbs" or "stars"; empty reads -1..1 as thumbs and 2..5
	// as stars.
	Scale   feedback.Scale `json:"scale"`
	Comment string         `json:"comment"`
	// User is who rates; empty means the X-Cato-User header, else the
	// tenant's unnamed user.
	User string `json:"user"`
}

// feedbackDoc is the answer to POST /api/cato/feedback. The comment is
// not echoed.
type feedbackDoc struct {
	Object    string           `json:"object"`
	RequestID string           `json:"request_id"`
	User      string           `json:"user"`
	Rating    int              `json:"rating"`
	Scale     feedback.Scale   `json:"scale"`
	Verdict   feedback.Verdict `json:"verdict"`
	Side      string           `json:"side"`
	Model     string           `json:"model"`
	Route     string           `json:"route"`
	Cached    bool             `json:"cached"`
	Replaced  bool             `json:"replaced"`
	RatedAt   time.Time        `json:"rated_at"`
}

// postFeedback serves POST /api/cato/feedback: one user's rating of one
// answer of the tenant's, stored with the answer's side, model, route and
// cached flag. A second rating by the same user replaces the first. The
// comment is stored and never logged.
func (s *Server) postFeedback(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rt, err := parseFeedback(r, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fb := s.opt.Feedback
	rated, err := fb.Store.Rate(r.Context(), rt)
	if err != nil {
		if !errors.Is(err, feedback.ErrInvalid) && !errors.Is(err, feedback.ErrUnknownRequest) && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w: %w", feedback.ErrStoreUnavailable, err)
		}
		s.writeError(w, r, err)
		return
	}
	if fb.OnRated != nil {
		fb.OnRated(rated)
	}
	got := rated.Rating
	writeJSON(w, http.StatusOK, feedbackDoc{
		Object: "cato.feedback", RequestID: got.RequestID, User: got.User,
		Rating: got.Rating, Scale: got.Scale, Verdict: got.Verdict,
		Side: got.Answer.Side, Model: got.Answer.Model, Route: got.Answer.Route, Cached: got.Answer.Cached,
		Replaced: rated.Replaced, RatedAt: got.At,
	})
}

// parseFeedback reads a feedback body into a Rating; every error wraps
// feedback.ErrInvalid.
func parseFeedback(r *http.Request, body []byte) (feedback.Rating, error) {
	var req feedbackRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return feedback.Rating{}, fmt.Errorf("%w: the body must be a JSON object with request_id, rating, and optionally scale, comment and user: %v", feedback.ErrInvalid, err)
	}
	if req.RequestID == "" {
		req.RequestID = r.Header.Get("X-Request-Id")
	}
	if req.RequestID == "" {
		return feedback.Rating{}, fmt.Errorf("%w: request_id is required (or the X-Request-Id header of the rated answer)", feedback.ErrInvalid)
	}
	if req.Rating == nil {
		return feedback.Rating{}, fmt.Errorf("%w: rating is required: -1, 0 or 1, or 1 to 5 with scale stars", feedback.ErrInvalid)
	}
	n, err := req.Rating.Int64()
	if err != nil || n < -1000 || n > 1000 {
		return feedback.Rating{}, fmt.Errorf("%w: rating must be a whole number: -1, 0 or 1, or 1 to 5 with scale stars", feedback.ErrInvalid)
	}
	v, scale, err := feedback.Judge(int(n), req.Scale)
	if err != nil {
		return feedback.Rating{}, err
	}
	user, _ := who(r, req.User, "")
	rt := feedback.Rating{
		Tenant: tenantOf(r.Context()), RequestID: req.RequestID, User: user,
		Rating: int(n), Scale: scale, Verdict: v, Comment: req.Comment,
	}
	return rt, rt.Validate()
}
