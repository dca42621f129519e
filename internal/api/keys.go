package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/openai"
	"github.com/cato-gateway/cato/internal/orchestrator"
)

// admitKey applies the limits of the request's key before either side of
// the rollout answers: a model the key may not use (403), its requests and
// tokens per minute (429) and its budget (402). chat is the request's chat
// completions body. The ticket settles the answer's usage and cost.
//
// Tokens are counted in two steps: the prompt is estimated up front at one
// token per four bytes of the body (estimateTokens), and once answered the
// estimate is replaced by the answer's actual usage, prompt and answer
// (Ticket.Settle). An answer from the semantic cache counts no tokens.
func (s *Server) admitKey(r *http.Request, chat []byte) (keys.Ticket, error) {
	k := keyOf(r.Context())
	if len(k.Limits.Models) > 0 {
		if m := requestedModel(chat); !orchestrator.IsAuto(m) && !k.Limits.Allows(m) {
			return keys.Ticket{}, fmt.Errorf("%w: %q", orchestrator.ErrModelNotAllowed, m)
		}
	}
	g := s.opt.Auth.Keys
	if g == nil {
		return keys.Ticket{}, nil
	}
	return g.Admit(r.Context(), *k, estimateTokens(chat))
}

// estimateTokens estimates the prompt of a chat body before it is
// answered: one token per four bytes, which overestimates the tokens of
// English text and of JSON's punctuation (about four characters a token
// for the tokenizers of the models Cato serves), so that a burst is
// refused before it lands, not after.
func estimateTokens(chat []byte) int64 { return int64(len(chat)+3) / 4 }

// requestedModel returns the "model" of a chat body; empty when it has
// none (the decoder of each side refuses a body that is not JSON).
func requestedModel(chat []byte) string {
	var m struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(chat, &m)
	return m.Model
}

// tokensOf is what an answer counts against a key's tokens per minute:
// prompt and answer tokens, none for an answer from the cache.
func tokensOf(u llm.Usage, cached bool) int64 {
	if cached {
		return 0
	}
	return int64(u.PromptTokens + u.CompletionTokens)
}

// keyDocument is the body of POST /api/admin/cato/keys.
type keyDocument struct {
	Tenant       string      `json:"tenant"`
	Models       []string    `json:"models"`
	RPM          int64       `json:"rpm"`
	TPM          int64       `json:"tpm"`
	BudgetUSD    float64     `json:"budget_usd"`
	BudgetPeriod keys.Period `json:"budget_period"`
}

// createdKey is the answer to POST /api/admin/cato/keys: the only time the
// secret is shown.
type createdKey struct {
	ID           string      `json:"id"`
	Key          string      `json:"key"`
	Tenant       string      `json:"tenant"`
	Models       []string    `json:"models"`
	RPM          int64       `json:"rpm"`
	TPM          int64       `json:"tpm"`
	BudgetUSD    float64     `json:"budget_usd"`
	BudgetPeriod keys.Period `json:"budget_period"`
	Created      time.Time   `json:"created"`
}

// decodeKeyDocument decodes a key document strictly: one JSON object, no
// unknown field, nothing after it.
func decodeKeyDocument(body []byte) (keyDocument, error) {
	var doc keyDocument
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return keyDocument{}, fail(codeInvalidKeyDocument, "the key document is not valid: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return keyDocument{}, fail(codeInvalidKeyDocument, "the key document is not valid: data after the object")
	}
	return doc, nil
}

// createKey serves POST /api/admin/cato/keys.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	doc, err := decodeKeyDocument(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	l := keys.Limits{Models: doc.Models, RPM: doc.RPM, TPM: doc.TPM, BudgetUSD: doc.BudgetUSD, BudgetPeriod: doc.BudgetPeriod}
	k, secret, err := s.opt.Auth.Keys.Create(r.Context(), doc.Tenant, l)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	models := k.Limits.Models
	if models == nil {
		models = []string{}
	}
	writeJSON(w, http.StatusCreated, createdKey{
		ID: k.ID, Key: secret, Tenant: k.Tenant, Models: models, RPM: k.Limits.RPM, TPM: k.Limits.TPM,
		BudgetUSD: k.Limits.BudgetUSD, BudgetPeriod: k.Limits.BudgetPeriod, Created: k.Created,
	})
}

// listKeys serves GET /api/admin/cato/keys[?tenant=T]: every key without
// its secret, with its spend in the current period.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := s.opt.Auth.Keys.List(r.Context(), r.URL.Query().Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []keys.Listed `json:"keys"`
	}{ks})
}

// revokeKey serves DELETE /api/admin/cato/keys/{id}.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Auth.Keys.Revoke(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// describeKeys maps the errors of keys and of a key's model list as
// describe does; ok is false for another error.
func describeKeys(err error, reqID string) (status int, body openai.ErrorBody, retry int, ok bool) {
	var le *keys.LimitError
	switch {
	case errors.As(err, &le):
		if le.Refused == keys.RefusedBudget {
			// Not a rate limit: SDKs do not retry a 402.
			return http.StatusPaymentRequired, openai.NewError(typeInsufficientQuota, "budget_exceeded", "", le.Error()), 0, true
		}
		retry = max(int((le.RetryAfter+time.Second-1)/time.Second), 1)
		return http.StatusTooManyRequests, openai.NewError(openai.TypeRateLimit, "rate_limit_exceeded", "", le.Error()), retry, true
	case errors.Is(err, orchestrator.ErrModelNotAllowed):
		return http.StatusForbidden, openai.NewError(openai.TypePermission, "model_not_allowed", "model", err.Error()), 0, true
	case errors.Is(err, keys.ErrInvalid):
		return http.StatusBadRequest, openai.NewError(openai.TypeInvalidRequest, codeInvalidKeyDocument, "", err.Error()), 0, true
	case errors.Is(err, keys.ErrNotFound):
		return http.StatusNotFound, openai.NewError(openai.TypeNotFound, "key_not_found", "", "no key has that id"), 0, true
	case errors.Is(err, keys.ErrFromConfig):
		return http.StatusConflict, openai.NewError(openai.TypeInvalidRequest, "key_from_config", "", "the key is configured under auth.keys: remove it there"), 0, true
	case errors.Is(err, keys.ErrUnavailable):
		return http.StatusServiceUnavailable, openai.NewError(openai.TypeServer, "store_unavailable", "", hidden("the key store is unavailable", reqID)), 1, true
	}
	return 0, openai.ErrorBody{}, 0, false
}

// typeInsufficientQuota is OpenAI's error type for a spent quota.
const typeInsufficientQuota = "insufficient_quota"
