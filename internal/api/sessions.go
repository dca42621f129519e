package api

import (
	"net/http"
	"time"
)

type sessionDoc struct {
	SessionID string    `json:"session_id"`
	Turns     []turnDoc `json:"turns"`
	Summary   string    `json:"summary"`
}

type turnDoc struct {
	Role    string    `json:"role"`
	Content string    `json:"content"`
	Model   string    `json:"model,omitempty"`
	At      time.Time `json:"at"`
}

// getSession shows a session of the caller's tenant.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	v, err := s.opt.Orchestrator.Session(r.Context(), tenantOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	doc := sessionDoc{SessionID: v.ID, Summary: v.Summary, Turns: make([]turnDoc, len(v.Turns))}
	for i, t := range v.Turns {
		doc.Turns[i] = turnDoc{Role: t.Role, Content: t.Content, Model: t.Model, At: t.At}
	}
	writeJSON(w, http.StatusOK, doc)
}

// deleteSession forgets a session of the caller's tenant and what was
// derived from it. Deleting a session that does not exist succeeds.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Orchestrator.ForgetSession(r.Context(), tenantOf(r.Context()), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
