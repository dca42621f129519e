package orchestrator

import (
	"context"
	"errors"
	"fmt"

	"github.com/cato-gateway/cato/internal/session"
)

// responseStore is implemented by session.Responses.
type responseStore interface {
	Put(ctx context.Context, tenant, id string, record []byte) error
	Get(ctx context.Context, tenant, id string) ([]byte, error)
}

// ErrResponseNotFound is returned by StoredResponse for a response that was
// never stored, has expired, or belongs to another tenant.
var ErrResponseNotFound = errors.New("response not found")

// responseNotFound is ErrResponseNotFound for one id, worded as OpenAI
// words it.
type responseNotFound struct{ id string }

func (e *responseNotFound) Error() string {
	return "Previous response with id '" + e.id + "' not found."
}

func (e *responseNotFound) Is(target error) bool { return target == ErrResponseNotFound }

// StoredResponse returns the record of response id of tenant, as
// StoreResponse kept it.
func (o *Orchestrator) StoredResponse(ctx context.Context, tenant, id string) ([]byte, error) {
	if o.opt.Responses == nil {
		return nil, &responseNotFound{id}
	}
	rec, err := o.opt.Responses.Get(ctx, tenant, id)
	switch {
	case errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrInvalidKey):
		return nil, &responseNotFound{id}
	case errors.Is(err, session.ErrUnavailable):
		return nil, fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	case err != nil:
		return nil, err
	}
	return rec, nil
}

// StoreResponse keeps record as response id of tenant, for as long as
// sessions are kept. With no store it keeps nothing and returns nil.
func (o *Orchestrator) StoreResponse(ctx context.Context, tenant, id string, record []byte) error {
	if o.opt.Responses == nil {
		return nil
	}
	// The session store's guard bounds the call; a client that went away
	// once its answer was complete still gets it stored.
	if err := o.opt.Responses.Put(context.WithoutCancel(ctx), tenant, id, record); err != nil {
		return fmt.Errorf("storing response %s: %w", id, err)
	}
	return nil
}
