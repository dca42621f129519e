package rollout

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a FlagStore held in process memory: the flag of a single
// replica with no shared store, and a reference for the conformance suite.
// The zero value is an empty store ready to use; it is safe for concurrent
// use and must not be copied after first use.
type MemoryStore struct {
	mu       sync.Mutex // guards history and watchers
	history  []Flag     // newest last
	watchers map[chan struct{}]struct{}
}

var _ FlagStore = (*MemoryStore)(nil)

// Get implements FlagStore.
func (m *MemoryStore) Get(ctx context.Context) (Flag, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.history) == 0 {
		return Flag{}, ErrNoFlag
	}
	return m.history[len(m.history)-1], nil
}

// Set implements FlagStore.
func (m *MemoryStore) Set(ctx context.Context, f Flag) (Flag, error) {
	if err := ctx.Err(); err != nil {
		return Flag{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f.Version = 1
	if n := len(m.history); n > 0 {
		f.Version = m.history[n-1].Version + 1
	}
	if f.At.IsZero() {
		f.At = time.Now()
	}
	m.history = append(m.history, f)
	if n := len(m.history); n > HistoryLimit {
		m.history = slices.Delete(m.history, 0, n-HistoryLimit)
	}
	for ch := range m.watchers {
		select {
		case ch <- struct{}{}:
		default: // one pending notification is enough
		}
	}
	return f, nil
}

// History implements FlagStore.
func (m *MemoryStore) History(ctx context.Context, limit int) ([]Flag, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.history)
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]Flag, 0, limit)
	for i := n - 1; i >= n-limit; i-- {
		out = append(out, m.history[i])
	}
	return out, nil
}

// Watch implements FlagStore. The channel is closed when ctx is done.
func (m *MemoryStore) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	if m.watchers == nil {
		m.watchers = map[chan struct{}]struct{}{}
	}
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
		close(ch)
	})
	return ch, nil
}
