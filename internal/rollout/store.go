package rollout

import (
	"context"
	"errors"
)

// HistoryLimit is how many changes a FlagStore keeps, newest first. It is
// enough to read a migration back; older changes are in the logs.
const HistoryLimit = 100

// ErrNoFlag is returned by FlagStore.Get when no flag was ever set.
var ErrNoFlag = errors.New("no rollout flag stored")

// FlagStore keeps the rollout flag that all replicas share, and its history.
// It is implemented by MemoryStore (one process, tests),
// store/embedded (one process, on disk) and store/redisstore (replicas).
// Implementations must be safe for concurrent use; rollouttest.Run checks
// the contract.
type FlagStore interface {
	// Get returns the current flag, or ErrNoFlag when none was ever set.
	Get(ctx context.Context) (Flag, error)
	// Set makes f the current flag. It gives f the current version plus one
	// (1 for the first), keeps f.At (now when zero), appends f to the
	// history, trims the history to HistoryLimit and notifies watchers, all
	// or nothing, and returns f as stored. Set does not validate f.
	Set(ctx context.Context, f Flag) (Flag, error)
	// History returns up to limit stored changes, newest first; limit <= 0
	// means all that are kept.
	History(ctx context.Context, limit int) ([]Flag, error)
	// Watch returns a channel that receives a value soon after any Set, by
	// this process or another one sharing the store. Notifications may be
	// coalesced or spurious: the receiver calls Get. The channel is closed
	// when ctx is done or the subscription breaks; the caller subscribes
	// again (Poller does, and polls meanwhile).
	Watch(ctx context.Context) (<-chan struct{}, error)
}
