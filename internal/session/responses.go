package session

import (
	"context"
	"fmt"
)

// responsePrefix starts the session id under which a stored response is
// kept, apart from the client's own session ids.
const responsePrefix = "response/"

// roleResponse is the role of the one turn that holds a stored response.
const roleResponse = "response"

// Responses keeps the stored answers of the Responses API
// (previous_response_id) in the session store: each is a session of its
// tenant, named "response/" and the response id, with one turn holding the
// record. They share the sessions' TTL, expiry and backends, and the
// guard that makes a store that is down fail fast. Get it from
// Memory.Responses. It is safe for concurrent use.
type Responses struct {
	store Store
}

// Responses returns the store of responses over m's session store.
func (m *Memory) Responses() *Responses { return &Responses{store: m.store} }

// NewResponses returns a store of responses over store; tests use it,
// Cato gets it from Memory.Responses.
func NewResponses(store Store) *Responses { return &Responses{store: store} }

func responseKey(tenant, id string) (Key, error) {
	k := Key{Tenant: tenant, ID: responsePrefix + id}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// Put stores record as response id of tenant; a response is put once.
func (r *Responses) Put(ctx context.Context, tenant, id string, record []byte) error {
	k, err := responseKey(tenant, id)
	if err != nil {
		return err
	}
	if err := r.store.Append(ctx, k, Turn{Role: roleResponse, Content: string(record)}); err != nil {
		return fmt.Errorf("storing response %s: %w", id, err)
	}
	return nil
}

// Get returns the record of response id of tenant, or an error wrapping
// ErrNotFound when there is none (never stored, expired, or another
// tenant's).
func (r *Responses) Get(ctx context.Context, tenant, id string) ([]byte, error) {
	k, err := responseKey(tenant, id)
	if err != nil {
		return nil, err
	}
	s, err := r.store.Load(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("loading response %s: %w", id, err)
	}
	for _, t := range s.Turns {
		if t.Role == roleResponse {
			return []byte(t.Content), nil
		}
	}
	return nil, fmt.Errorf("loading response %s: %w", id, ErrNotFound)
}
