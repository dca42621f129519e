package cache

import (
	"time"

	"github.com/cato-gateway/cato/internal/llm"
)

// Entry is one cached answer.
type Entry struct {
	// ID is unique across replicas (random, 32 hex digits).
	ID    string
	Scope Scope
	// Query is the user question the answer was given to.
	Query string
	// Answer is the model's answer text.
	Answer string
	// Model is the model that answered.
	Model string
	// Usage is what the original call cost; a hit costs nothing.
	Usage     llm.Usage
	CreatedAt time.Time
	// ExpiresAt is when the entry stops being served (CreatedAt + TTL).
	// Stores may drop it any time after.
	ExpiresAt time.Time
	// SessionID is the session whose request created the entry; deleting
	// the session deletes the entry. Empty when the request had none.
	SessionID string
	// Vector is the embedding of Query.
	Vector []float32
}

// Filter selects entries to purge. Empty fields match everything; at
// least one field must be set.
type Filter struct {
	Tenant string
	Model  string
}

// Match reports whether e is selected by f.
func (f Filter) Match(e *Entry) bool {
	return (f.Tenant == "" || e.Scope.Tenant == f.Tenant) && (f.Model == "" || e.Scope.Model == f.Model || e.Model == f.Model)
}
