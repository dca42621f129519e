package memory_test

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/memory/memorytest"
	"github.com/cato-gateway/cato/internal/vectorindex"
)

// memStore is an in-memory memory.Backend for the package's tests: the
// semantics of the real stores (memorytest proves it), without a file or
// a server. It is safe for concurrent use.
type memStore struct {
	opts memory.QueueOptions

	mu        sync.Mutex // guards everything below
	users     map[memory.Key]*memUser
	forgotten map[[2]string]time.Time // tenant, session
	queue     []*memQueued
	seq       int
	wake      chan struct{}
}

type memUser struct {
	version   int64
	forgotten time.Time
	facts     map[string]memory.Fact
	episodes  map[string]memory.Episode
}

type memQueued struct {
	seq      int
	item     memory.Interaction
	enqueued time.Time
	visible  time.Time
	attempts int
}

var _ memory.Backend = (*memStore)(nil)

func newMemStore(o memory.QueueOptions) *memStore {
	return &memStore{opts: o.WithDefaults(), users: map[memory.Key]*memUser{}, forgotten: map[[2]string]time.Time{}, wake: make(chan struct{})}
}

func TestMemStoreConforms(t *testing.T) {
	memorytest.Run(t, func(t *testing.T, o memory.QueueOptions) memory.Backend { return newMemStore(o) })
}

func (s *memStore) userLocked(k memory.Key) *memUser {
	u := s.users[k]
	if u == nil {
		u = &memUser{facts: map[string]memory.Fact{}, episodes: map[string]memory.Episode{}}
		s.users[k] = u
	}
	return u
}

func (s *memStore) Load(ctx context.Context, k memory.Key, which memory.Which) (memory.State, error) {
	if err := k.Validate(); err != nil {
		return memory.State{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(k)
	st := memory.State{Version: u.version}
	for _, f := range u.facts {
		if which == memory.CurrentFacts && !f.Current() {
			continue
		}
		f.Sources = slices.Clone(f.Sources)
		st.Facts = append(st.Facts, f)
	}
	slices.SortFunc(st.Facts, func(a, b memory.Fact) int { return cmp.Compare(a.ID, b.ID) })
	return st, nil
}

func (s *memStore) Apply(ctx context.Context, c memory.Change) error {
	if err := c.Key.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(c.Key)
	if i := c.Interaction; i != nil {
		if _, ok := u.episodes[i.ID]; ok {
			return memory.ErrDuplicate
		}
		if !u.forgotten.IsZero() && !u.forgotten.Before(i.At) {
			return memory.ErrForgotten
		}
		if t, ok := s.forgotten[[2]string{c.Key.Tenant, i.SessionID}]; ok && i.SessionID != "" && !t.Before(i.At) {
			return memory.ErrForgotten
		}
	}
	if u.version != c.Version {
		return memory.ErrConflict
	}
	if e := c.Episode; e != nil {
		u.episodes[e.ID] = *e
	}
	for _, f := range c.Put {
		f.Sources = slices.Clone(f.Sources)
		u.facts[f.ID] = f
	}
	for _, id := range c.Delete {
		delete(u.facts, id)
	}
	for _, id := range c.DeleteEpisodes {
		delete(u.episodes, id)
	}
	u.version++
	return nil
}

func (s *memStore) SearchEpisodes(ctx context.Context, k memory.Key, vec []float32, n int) ([]memory.EpisodeHit, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []memory.EpisodeHit
	for _, e := range s.userLocked(k).episodes {
		if len(e.Vector) == len(vec) && len(vec) > 0 {
			hits = append(hits, memory.EpisodeHit{Episode: e, Score: vectorindex.Cosine(vec, e.Vector)})
		}
	}
	slices.SortFunc(hits, func(a, b memory.EpisodeHit) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.ID, b.ID))
	})
	if len(hits) > n {
		hits = hits[:max(n, 0)]
	}
	return hits, nil
}

func (s *memStore) SessionEpisodes(ctx context.Context, tenant, sessionID string) ([]memory.EpisodeRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []memory.EpisodeRef
	for k, u := range s.users {
		if k.Tenant != tenant {
			continue
		}
		for id, e := range u.episodes {
			if e.SessionID == sessionID && sessionID != "" {
				out = append(out, memory.EpisodeRef{User: k.User, ID: id})
			}
		}
	}
	return out, nil
}

func (s *memStore) ForgetUser(ctx context.Context, k memory.Key, at time.Time) error {
	if err := k.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(k)
	u.facts, u.episodes = map[string]memory.Fact{}, map[string]memory.Episode{}
	u.version++
	if at.After(u.forgotten) {
		u.forgotten = at
	}
	return nil
}

func (s *memStore) ForgetSession(ctx context.Context, tenant, sessionID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]string{tenant, sessionID}
	if at.After(s.forgotten[key]) {
		s.forgotten[key] = at
	}
	return nil
}

func (s *memStore) EpisodeSearch() string { return "exact_scan" }

func (s *memStore) Enqueue(ctx context.Context, items []memory.Interaction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	for _, it := range items {
		s.seq++
		s.queue = append(s.queue, &memQueued{seq: s.seq, item: it, enqueued: now, visible: now})
	}
	close(s.wake)
	s.wake = make(chan struct{})
	return nil
}

func (s *memStore) claimOnce(limit int) []memory.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var out []memory.Delivery
	for _, q := range s.queue {
		if len(out) == limit {
			break
		}
		if now.Before(q.visible) {
			continue
		}
		q.visible = now.Add(s.opts.Lease)
		q.attempts++
		out = append(out, memory.Delivery{Interaction: q.item, Attempt: q.attempts, Receipt: strconv.Itoa(q.seq)})
	}
	return out
}

func (s *memStore) Claim(ctx context.Context, consumer string, limit int, wait time.Duration) ([]memory.Delivery, error) {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		woken := s.wake
		s.mu.Unlock()
		if ds := s.claimOnce(limit); len(ds) > 0 {
			return ds, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		t := time.NewTimer(min(left, 20*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-woken:
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *memStore) Ack(ctx context.Context, ds []memory.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range ds {
		s.queue = slices.DeleteFunc(s.queue, func(q *memQueued) bool { return strconv.Itoa(q.seq) == d.Receipt })
	}
	return nil
}

func (s *memStore) Stats(ctx context.Context) (memory.QueueStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	var st memory.QueueStats
	for _, q := range s.queue {
		st.Depth++
		if q.attempts > 0 && now.Before(q.visible) {
			st.InFlight++
		}
		if st.Oldest.IsZero() || q.enqueued.Before(st.Oldest) {
			st.Oldest = q.enqueued
		}
	}
	return st, nil
}
