package session_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/session/sessiontest"
)

// memStore is an in-process session.Store for Memory's tests. fail, when
// set, makes every call return its error, as a store that is down would.
type memStore struct {
	opts session.StoreOptions

	mu       sync.Mutex // guards sessions, expires and fail
	sessions map[session.Key]*session.Session
	expires  map[session.Key]time.Time
	fail     error
}

func newMemStore(o session.StoreOptions) *memStore {
	return &memStore{opts: o.WithDefaults(), sessions: map[session.Key]*session.Session{}, expires: map[session.Key]time.Time{}}
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// liveLocked returns k's session unless missing or expired. m.mu must be held.
func (m *memStore) liveLocked(k session.Key) *session.Session {
	s := m.sessions[k]
	if s == nil || !m.opts.Now().Before(m.expires[k]) {
		return nil
	}
	return s
}

func (m *memStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	s := m.liveLocked(k)
	if s == nil {
		return nil, session.ErrNotFound
	}
	c := *s
	c.Turns = slices.Clone(s.Turns)
	return &c, nil
}

func (m *memStore) Append(ctx context.Context, k session.Key, turns ...session.Turn) error {
	if err := k.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if len(turns) == 0 {
		return nil
	}
	s := m.liveLocked(k)
	if s == nil {
		s = &session.Session{Key: k}
		m.sessions[k] = s
	}
	last := s.LastSeq()
	for _, t := range turns {
		last++
		t.Seq = last
		s.Turns = append(s.Turns, t)
	}
	now := m.opts.Now()
	s.UpdatedAt = now
	m.expires[k] = now.Add(m.opts.TTL)
	return nil
}

func (m *memStore) Fold(ctx context.Context, k session.Key, f session.Fold) error {
	if err := k.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	s := m.liveLocked(k)
	if s == nil {
		return session.ErrNotFound
	}
	if err := session.CheckFold(f, s.SummaryThrough, s.LastSeq()); err != nil {
		return err
	}
	s.Turns = slices.Clone(s.Turns[f.Through-s.SummaryThrough:])
	s.Summary, s.SummaryThrough = f.Summary, f.Through
	return nil
}

func (m *memStore) Delete(ctx context.Context, k session.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	delete(m.sessions, k)
	return nil
}

// TestMemStore checks the fake against the conformance suite, which also
// shows the suite passes on a correct store.
func TestMemStore(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T, o session.StoreOptions) session.Store { return newMemStore(o) })
}
