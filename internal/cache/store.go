package cache

import (
	"context"
	"errors"
)

// Store keeps cache entries where every replica sees them. Implementations
// live in internal/store/* and must pass cachetest.Run; they must be safe
// for concurrent use.
type Store interface {
	// Put stores e, replacing an entry with the same ID, and announces it
	// on the change feed.
	Put(ctx context.Context, e Entry) error
	// Delete removes the entries with these IDs; unknown IDs are ignored.
	Delete(ctx context.Context, ids ...string) error
	// DeleteBySession removes every entry created by session sessionID of
	// tenant and returns their IDs. Session ids are per tenant: entries of
	// another tenant's session of the same id stay.
	DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error)
	// Purge removes every entry f matches and returns how many. A Filter
	// with no field set is refused with ErrEmptyFilter.
	Purge(ctx context.Context, f Filter) (int, error)
	// List calls fn for every stored entry that has not expired, in no
	// particular order, for a replica's warm start. It stops at the first
	// error fn returns and returns it.
	List(ctx context.Context, fn func(Entry) error) error
	// Watch subscribes to the changes made by every replica (this one
	// included) from the moment it returns: a replica calls Watch, then
	// List, so that nothing falls between. Changes arrive within a second
	// in the order each replica made them. The channel is closed when ctx
	// is done or the feed fails; a closed feed may have missed changes,
	// so the caller re-subscribes and lists again.
	Watch(ctx context.Context) (<-chan Change, error)
}

// ErrEmptyFilter is returned by Store.Purge when the filter selects
// everything.
var ErrEmptyFilter = errors.New("purge filter is empty: name a tenant or a model")

// Op is the kind of a Change.
type Op int

const (
	// OpPut: Entry was stored.
	OpPut Op = iota + 1
	// OpDelete: the entries IDs were deleted (Delete, DeleteBySession).
	OpDelete
	// OpPurge: the entries Filter matches were purged.
	OpPurge
)

// Change is one event of a Store's change feed.
type Change struct {
	Op     Op
	Entry  Entry    // OpPut
	IDs    []string // OpDelete
	Filter Filter   // OpPurge
}
