package cache

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is a Store held in this process: for tests, and for a single
// replica that needs no persistence. Watchers that fall more than 1024
// changes behind are closed (as a real feed would drop them). The zero
// MemoryStore is not usable; call NewMemoryStore. It is safe for
// concurrent use.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex // guards entries and watchers
	entries  map[string]Entry
	watchers map[chan Change]struct{}
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store; now is its clock (nil: time.Now),
// used to skip expired entries in List.
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, entries: make(map[string]Entry), watchers: make(map[chan Change]struct{})}
}

// Put stores e.
func (m *MemoryStore) Put(ctx context.Context, e Entry) error {
	e.Vector = append([]float32(nil), e.Vector...)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[e.ID] = e
	m.publishLocked(Change{Op: OpPut, Entry: e})
	return nil
}

// Delete removes ids.
func (m *MemoryStore) Delete(ctx context.Context, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []string
	for _, id := range ids {
		if _, ok := m.entries[id]; ok {
			delete(m.entries, id)
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		m.publishLocked(Change{Op: OpDelete, IDs: gone})
	}
	return nil
}

// DeleteBySession removes the entries of session sessionID of tenant.
func (m *MemoryStore) DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []string
	for id, e := range m.entries {
		if e.SessionID == sessionID && e.Scope.Tenant == tenant {
			delete(m.entries, id)
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		m.publishLocked(Change{Op: OpDelete, IDs: gone})
	}
	return gone, nil
}

// Purge removes the entries f matches.
func (m *MemoryStore) Purge(ctx context.Context, f Filter) (int, error) {
	if f == (Filter{}) {
		return 0, ErrEmptyFilter
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, e := range m.entries {
		if f.Match(&e) {
			delete(m.entries, id)
			n++
		}
	}
	m.publishLocked(Change{Op: OpPurge, Filter: f})
	return n, nil
}

// List calls fn for each live entry, on a snapshot taken first.
func (m *MemoryStore) List(ctx context.Context, fn func(Entry) error) error {
	now := m.now()
	m.mu.Lock()
	snap := make([]Entry, 0, len(m.entries))
	for _, e := range m.entries {
		if e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt) {
			snap = append(snap, e)
		}
	}
	m.mu.Unlock()
	for _, e := range snap {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Watch subscribes to changes until ctx is done.
func (m *MemoryStore) Watch(ctx context.Context) (<-chan Change, error) {
	ch := make(chan Change, 1024)
	m.mu.Lock()
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	// This goroutine only waits for ctx, then unsubscribes; it exits with it.
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		defer m.mu.Unlock()
		if _, ok := m.watchers[ch]; ok {
			delete(m.watchers, ch)
			close(ch)
		}
	}()
	return ch, nil
}

// publishLocked sends c to every watcher, closing those that are full.
// m.mu must be held.
func (m *MemoryStore) publishLocked(c Change) {
	for ch := range m.watchers {
		select {
		case ch <- c:
		default:
			delete(m.watchers, ch)
			close(ch)
		}
	}
}
