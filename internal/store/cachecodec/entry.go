package cachecodec

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
)

// version is the format of an encoded entry; Unmarshal refuses others, so
// that a replica never misreads an entry written by a newer one.
const version = 1

// record is an Entry as JSON. Times are Unix nanoseconds, so that an entry
// round-trips exactly (the cache recognises the echo of its own Put by
// CreatedAt); the vector is little-endian float32s (base64 in JSON).
type record struct {
	V                int    `json:"v"`
	ID               string `json:"id"`
	Tenant           string `json:"tenant"`
	Model            string `json:"model"`
	System           string `json:"system,omitempty"`
	Domain           string `json:"domain,omitempty"`
	Query            string `json:"query"`
	Answer           string `json:"answer"`
	AnswerModel      string `json:"answer_model,omitempty"`
	PromptTokens     int    `json:"prompt_tokens,omitempty"`
	CompletionTokens int    `json:"completion_tokens,omitempty"`
	Created          int64  `json:"created"`
	Expires          int64  `json:"expires"`
	Session          string `json:"session,omitempty"`
	Vector           []byte `json:"vector,omitempty"`
}

// Meta is the part of an entry the stores index by, which Peek reads
// without decoding the vector.
type Meta struct {
	ID          string
	Tenant      string
	Model       string // Scope.Model
	AnswerModel string // Entry.Model
	SessionID   string
	ExpiresAt   time.Time
}

// Match reports whether f selects the entry, as cache.Filter.Match does.
func (m Meta) Match(f cache.Filter) bool {
	return (f.Tenant == "" || m.Tenant == f.Tenant) && (f.Model == "" || m.Model == f.Model || m.AnswerModel == f.Model)
}

// Marshal encodes e.
func Marshal(e cache.Entry) ([]byte, error) {
	return json.Marshal(toRecord(e))
}

// Unmarshal decodes an entry encoded by Marshal.
func Unmarshal(b []byte) (cache.Entry, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return cache.Entry{}, fmt.Errorf("decoding cache entry: %w", err)
	}
	return r.entry()
}

// Peek decodes the indexed fields of an entry encoded by Marshal.
func Peek(b []byte) (Meta, error) {
	var r struct {
		V           int    `json:"v"`
		ID          string `json:"id"`
		Tenant      string `json:"tenant"`
		Model       string `json:"model"`
		AnswerModel string `json:"answer_model"`
		Session     string `json:"session"`
		Expires     int64  `json:"expires"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return Meta{}, fmt.Errorf("decoding cache entry: %w", err)
	}
	if r.V != version {
		return Meta{}, fmt.Errorf("decoding cache entry: format %d, want %d", r.V, version)
	}
	return Meta{ID: r.ID, Tenant: r.Tenant, Model: r.Model, AnswerModel: r.AnswerModel, SessionID: r.Session, ExpiresAt: fromNanos(r.Expires)}, nil
}

func toRecord(e cache.Entry) record {
	return record{
		V: version, ID: e.ID,
		Tenant: e.Scope.Tenant, Model: e.Scope.Model, System: e.Scope.System, Domain: e.Scope.Domain,
		Query: e.Query, Answer: e.Answer, AnswerModel: e.Model,
		PromptTokens: e.Usage.PromptTokens, CompletionTokens: e.Usage.CompletionTokens,
		Created: toNanos(e.CreatedAt), Expires: toNanos(e.ExpiresAt),
		Session: e.SessionID, Vector: EncodeVector(e.Vector),
	}
}

func (r *record) entry() (cache.Entry, error) {
	if r.V != version {
		return cache.Entry{}, fmt.Errorf("decoding cache entry: format %d, want %d", r.V, version)
	}
	if r.ID == "" {
		return cache.Entry{}, errors.New("decoding cache entry: no id")
	}
	vec, err := DecodeVector(r.Vector)
	if err != nil {
		return cache.Entry{}, fmt.Errorf("decoding cache entry %s: %w", r.ID, err)
	}
	return cache.Entry{
		ID:    r.ID,
		Scope: cache.Scope{Tenant: r.Tenant, Model: r.Model, System: r.System, Domain: r.Domain},
		Query: r.Query, Answer: r.Answer, Model: r.AnswerModel,
		Usage:     llm.Usage{PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens},
		CreatedAt: fromNanos(r.Created), ExpiresAt: fromNanos(r.Expires),
		SessionID: r.Session, Vector: vec,
	}, nil
}

// toNanos maps the zero time to 0, which fromNanos maps back.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// EncodeVector returns v as little-endian float32s; nil for an empty v.
func EncodeVector(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeVector decodes what EncodeVector returns.
func DecodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector of %d bytes is not a whole number of float32s", len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
