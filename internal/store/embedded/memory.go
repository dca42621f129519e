package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
	"github.com/cato-gateway/cato/internal/vectorindex"
)

// Buckets of long-term memory. U is tenant NUL user, S a session id; NUL
// cannot occur in any of them (memory.Key.Validate), so prefixes do not
// overlap.
//
//	memory_queue       8-byte sequence → queueRecord (JSON)
//	memory_users       U → userRecord (JSON): version, forgotten at
//	memory_facts       U NUL factID → memory.Fact (JSON): current facts
//	memory_history     U NUL factID → memory.Fact (JSON): superseded ones
//	memory_episodes    U NUL episodeID → memory.Episode (JSON)
//	memory_vectors     U NUL episodeID → float32s (cachecodec)
//	memory_sessions    tenant NUL S NUL user NUL episodeID → nil
//	memory_forgotten   tenant NUL S → forgotten at (8 bytes, Unix ns)
var (
	memQueueBucket     = []byte("memory_queue")
	memUsersBucket     = []byte("memory_users")
	memFactsBucket     = []byte("memory_facts")
	memHistoryBucket   = []byte("memory_history")
	memEpisodesBucket  = []byte("memory_episodes")
	memVectorsBucket   = []byte("memory_vectors")
	memSessionsBucket  = []byte("memory_sessions")
	memForgottenBucket = []byte("memory_forgotten")
)

var memBuckets = [][]byte{memQueueBucket, memUsersBucket, memFactsBucket, memHistoryBucket, memEpisodesBucket, memVectorsBucket, memSessionsBucket, memForgottenBucket}

// MemoryStore is the embedded memory.Store and memory.Queue: one bbolt
// file, for one gateway process. Episode vectors are kept in the file and
// searched with an in-process index per user (vectorindex: exact while
// small, HNSW from 1024 episodes), built from the file when the first
// MemoryStore of a DB is made. Queue leases taken by an earlier process
// (one that crashed) are void: their interactions are delivered again at
// once. It is safe for concurrent use.
type MemoryStore struct {
	db   *DB
	opts memory.QueueOptions
}

var _ memory.Backend = (*MemoryStore)(nil)

// NewMemoryStore returns the memory store of db. The first call on a DB
// reads every episode vector into the in-process indexes.
func NewMemoryStore(db *DB, o memory.QueueOptions) (*MemoryStore, error) {
	s := &MemoryStore{db: db, opts: o.WithDefaults()}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range memBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("creating memory buckets: %w", err)
	}
	if err := db.memory.load(db.bolt); err != nil {
		return nil, fmt.Errorf("loading episode vectors: %w", err)
	}
	return s, nil
}

// memoryShared is the state of every MemoryStore of one DB.
type memoryShared struct {
	mu      sync.Mutex // guards everything below
	loaded  bool
	indexes map[memory.Key]*vectorindex.Index
	// wake is closed, and replaced, by each Enqueue, to wake claims.
	wake chan struct{}
}

func (m *memoryShared) load(db *bolt.DB) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded {
		return nil
	}
	m.indexes = map[memory.Key]*vectorindex.Index{}
	m.wake = make(chan struct{})
	err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(memVectorsBucket).ForEach(func(k, v []byte) error {
			key, id, ok := splitUserID(k)
			if !ok {
				return nil
			}
			vec, err := cachecodec.DecodeVector(v)
			if err != nil || len(vec) == 0 {
				return nil // a vector that cannot be read is not searchable
			}
			return m.indexLocked(key).Add(id, vec)
		})
	})
	if err != nil {
		return err
	}
	m.loaded = true
	return nil
}

// indexLocked returns k's index, creating it. m.mu must be held.
func (m *memoryShared) indexLocked(k memory.Key) *vectorindex.Index {
	ix := m.indexes[k]
	if ix == nil {
		ix = vectorindex.New(vectorindex.Options{})
		m.indexes[k] = ix
	}
	return ix
}

func (m *memoryShared) index(k memory.Key) *vectorindex.Index {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.indexLocked(k)
}

// lookup returns k's index or nil.
func (m *memoryShared) lookup(k memory.Key) *vectorindex.Index {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.indexes[k]
}

func (m *memoryShared) drop(k memory.Key) {
	m.mu.Lock()
	ix := m.indexes[k]
	delete(m.indexes, k)
	m.mu.Unlock()
	if ix != nil {
		ix.Close()
	}
}

// notify wakes every Claim waiting for work.
func (m *memoryShared) notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.wake != nil {
		close(m.wake)
		m.wake = make(chan struct{})
	}
}

func (m *memoryShared) waiter() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wake
}

func (m *memoryShared) close() {
	m.mu.Lock()
	ixs := m.indexes
	m.indexes = map[memory.Key]*vectorindex.Index{}
	m.mu.Unlock()
	for _, ix := range ixs {
		ix.Close()
	}
}

func userKey(k memory.Key) []byte { return []byte(k.Tenant + "\x00" + k.User) }

func userItemKey(k memory.Key, id string) []byte {
	return []byte(k.Tenant + "\x00" + k.User + "\x00" + id)
}

func userPrefix(k memory.Key) []byte { return []byte(k.Tenant + "\x00" + k.User + "\x00") }

// splitUserID splits a userItemKey.
func splitUserID(b []byte) (memory.Key, string, bool) {
	parts := bytes.SplitN(b, []byte{0}, 3)
	if len(parts) != 3 {
		return memory.Key{}, "", false
	}
	return memory.Key{Tenant: string(parts[0]), User: string(parts[1])}, string(parts[2]), true
}

func sessionPrefix(tenant, session string) []byte {
	return []byte(tenant + "\x00" + session + "\x00")
}

func sessionItemKey(tenant, session, user, id string) []byte {
	return []byte(tenant + "\x00" + session + "\x00" + user + "\x00" + id)
}

func forgottenKey(tenant, session string) []byte { return []byte(tenant + "\x00" + session) }

type userRecord struct {
	Version   int64     `json:"version"`
	Forgotten time.Time `json:"forgotten,omitzero"`
}

func getUser(tx *bolt.Tx, k memory.Key) (userRecord, error) {
	var u userRecord
	v := tx.Bucket(memUsersBucket).Get(userKey(k))
	if v == nil {
		return u, nil
	}
	if err := json.Unmarshal(v, &u); err != nil {
		return u, fmt.Errorf("decoding memory user record: %w", err)
	}
	return u, nil
}

func putUser(tx *bolt.Tx, k memory.Key, u userRecord) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Bucket(memUsersBucket).Put(userKey(k), b)
}

func getTime(v []byte) time.Time {
	if len(v) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v)))
}

func putTime(t time.Time) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano()))
	return b
}

// Load returns k's facts and version.
func (s *MemoryStore) Load(ctx context.Context, k memory.Key, which memory.Which) (memory.State, error) {
	if err := k.Validate(); err != nil {
		return memory.State{}, err
	}
	if err := ctx.Err(); err != nil {
		return memory.State{}, err
	}
	var st memory.State
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		u, err := getUser(tx, k)
		if err != nil {
			return err
		}
		st.Version = u.Version
		buckets := [][]byte{memFactsBucket}
		if which == memory.AllFacts {
			buckets = append(buckets, memHistoryBucket)
		}
		p := userPrefix(k)
		for _, name := range buckets {
			c := tx.Bucket(name).Cursor()
			for key, v := c.Seek(p); key != nil && bytes.HasPrefix(key, p); key, v = c.Next() {
				var f memory.Fact
				if err := json.Unmarshal(v, &f); err != nil {
					return fmt.Errorf("decoding fact: %w", err)
				}
				st.Facts = append(st.Facts, f)
			}
		}
		return nil
	})
	if err != nil {
		return memory.State{}, fmt.Errorf("loading memory: %w", err)
	}
	return st, nil
}

// Apply writes c in one transaction, then updates the episode index.
func (s *MemoryStore) Apply(ctx context.Context, c memory.Change) error {
	if err := c.Key.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var removed []string
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		u, err := getUser(tx, c.Key)
		if err != nil {
			return err
		}
		if i := c.Interaction; i != nil {
			if tx.Bucket(memEpisodesBucket).Get(userItemKey(c.Key, i.ID)) != nil {
				return memory.ErrDuplicate
			}
			if !u.Forgotten.IsZero() && !u.Forgotten.Before(i.At) {
				return memory.ErrForgotten
			}
			if i.SessionID != "" {
				if t := getTime(tx.Bucket(memForgottenBucket).Get(forgottenKey(i.Tenant, i.SessionID))); !t.IsZero() && !t.Before(i.At) {
					return memory.ErrForgotten
				}
			}
		}
		if u.Version != c.Version {
			return memory.ErrConflict
		}
		if e := c.Episode; e != nil {
			if err := putEpisode(tx, c.Key, e); err != nil {
				return err
			}
		}
		facts, hist := tx.Bucket(memFactsBucket), tx.Bucket(memHistoryBucket)
		for i := range c.Put {
			b, err := json.Marshal(&c.Put[i])
			if err != nil {
				return err
			}
			key := userItemKey(c.Key, c.Put[i].ID)
			in, out := facts, hist
			if !c.Put[i].Current() {
				in, out = hist, facts
			}
			if err := out.Delete(key); err != nil {
				return err
			}
			if err := in.Put(key, b); err != nil {
				return err
			}
		}
		for _, id := range c.Delete {
			if err := facts.Delete(userItemKey(c.Key, id)); err != nil {
				return err
			}
			if err := hist.Delete(userItemKey(c.Key, id)); err != nil {
				return err
			}
		}
		for _, id := range c.DeleteEpisodes {
			ok, err := deleteEpisode(tx, c.Key, id)
			if err != nil {
				return err
			}
			if ok {
				removed = append(removed, id)
			}
		}
		u.Version++
		return putUser(tx, c.Key, u)
	})
	if err != nil {
		if errors.Is(err, memory.ErrDuplicate) || errors.Is(err, memory.ErrForgotten) || errors.Is(err, memory.ErrConflict) {
			return err
		}
		return fmt.Errorf("applying memory change: %w", err)
	}
	if e := c.Episode; e != nil && len(e.Vector) > 0 {
		// A vector the index refuses (zero, another dimension) leaves the
		// episode unsearchable, as an episode without a vector is.
		_ = s.db.memory.index(c.Key).Add(e.ID, e.Vector)
	}
	if len(removed) > 0 {
		if ix := s.db.memory.lookup(c.Key); ix != nil {
			for _, id := range removed {
				ix.Delete(id)
			}
		}
	}
	return nil
}

func putEpisode(tx *bolt.Tx, k memory.Key, e *memory.Episode) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	key := userItemKey(k, e.ID)
	if err := tx.Bucket(memEpisodesBucket).Put(key, b); err != nil {
		return err
	}
	if len(e.Vector) > 0 {
		if err := tx.Bucket(memVectorsBucket).Put(key, cachecodec.EncodeVector(e.Vector)); err != nil {
			return err
		}
	}
	if e.SessionID != "" {
		return tx.Bucket(memSessionsBucket).Put(sessionItemKey(k.Tenant, e.SessionID, k.User, e.ID), nil)
	}
	return nil
}

// deleteEpisode deletes episode id of k and its vector and session entry,
// and reports whether it was there.
func deleteEpisode(tx *bolt.Tx, k memory.Key, id string) (bool, error) {
	key := userItemKey(k, id)
	eb := tx.Bucket(memEpisodesBucket)
	v := eb.Get(key)
	if v == nil {
		return false, nil
	}
	var e memory.Episode
	if err := json.Unmarshal(v, &e); err == nil && e.SessionID != "" {
		if err := tx.Bucket(memSessionsBucket).Delete(sessionItemKey(k.Tenant, e.SessionID, k.User, id)); err != nil {
			return false, err
		}
	}
	if err := eb.Delete(key); err != nil {
		return false, err
	}
	return true, tx.Bucket(memVectorsBucket).Delete(key)
}

// SearchEpisodes searches k's in-process index.
func (s *MemoryStore) SearchEpisodes(ctx context.Context, k memory.Key, vec []float32, n int) ([]memory.EpisodeHit, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix := s.db.memory.lookup(k)
	if ix == nil || n <= 0 {
		return nil, nil
	}
	found := ix.Search(vec, n)
	if len(found) == 0 {
		return nil, nil
	}
	hits := make([]memory.EpisodeHit, 0, len(found))
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(memEpisodesBucket)
		for _, r := range found {
			v := b.Get(userItemKey(k, r.ID))
			if v == nil {
				continue // deleted since the search
			}
			var h memory.EpisodeHit
			if err := json.Unmarshal(v, &h.Episode); err != nil {
				return fmt.Errorf("decoding episode: %w", err)
			}
			h.Score = r.Score
			hits = append(hits, h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading episodes: %w", err)
	}
	return hits, nil
}

// SessionEpisodes lists the episodes of a session.
func (s *MemoryStore) SessionEpisodes(ctx context.Context, tenant, sessionID string) ([]memory.EpisodeRef, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []memory.EpisodeRef
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(memSessionsBucket).Cursor()
		p := sessionPrefix(tenant, sessionID)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			user, id, ok := bytes.Cut(k[len(p):], []byte{0})
			if ok {
				out = append(out, memory.EpisodeRef{User: string(user), ID: string(id)})
			}
		}
		return nil
	})
	return out, err
}

// ForgetUser deletes k's memory and records the time.
func (s *MemoryStore) ForgetUser(ctx context.Context, k memory.Key, at time.Time) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		p := userPrefix(k)
		var ids []string
		c := tx.Bucket(memEpisodesBucket).Cursor()
		for key, _ := c.Seek(p); key != nil && bytes.HasPrefix(key, p); key, _ = c.Next() {
			ids = append(ids, string(key[len(p):]))
		}
		for _, id := range ids {
			if _, err := deleteEpisode(tx, k, id); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{memFactsBucket, memHistoryBucket} {
			if err := deletePrefix(tx.Bucket(b), p); err != nil {
				return err
			}
		}
		u, err := getUser(tx, k)
		if err != nil {
			return err
		}
		u.Version++
		if at.After(u.Forgotten) {
			u.Forgotten = at
		}
		return putUser(tx, k, u)
	})
	if err != nil {
		return fmt.Errorf("forgetting user: %w", err)
	}
	s.db.memory.drop(k)
	return nil
}

func deletePrefix(b *bolt.Bucket, p []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// ForgetSession records that the session was forgotten at at.
func (s *MemoryStore) ForgetSession(ctx context.Context, tenant, sessionID string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(memForgottenBucket)
		key := forgottenKey(tenant, sessionID)
		if getTime(b.Get(key)).After(at) {
			return nil
		}
		return b.Put(key, putTime(at))
	})
}

// EpisodeSearch names the in-process HNSW index.
func (s *MemoryStore) EpisodeSearch() string { return "hnsw" }

// queueRecord is one queued interaction. It is stored as a fixed header
// (big-endian: enqueued, leased and visible Unix nanoseconds, attempts,
// the epoch of the lease) and the interaction's JSON, so that Stats and
// Claim read the header of records without decoding interactions.
type queueRecord struct {
	Enqueued time.Time
	// Leased is when it was last claimed, zero if never, by a process
	// that had the file open in Epoch; it is invisible until Visible,
	// unless that process is gone.
	Leased   time.Time
	Visible  time.Time
	Attempts uint32
	Epoch    [8]byte
	// item is the interaction's JSON.
	item []byte
}

const queueHeader = 8 + 8 + 8 + 4 + 8

func nanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromNanos(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

func (r *queueRecord) encode() []byte {
	b := make([]byte, queueHeader, queueHeader+len(r.item))
	binary.BigEndian.PutUint64(b[0:], nanos(r.Enqueued))
	binary.BigEndian.PutUint64(b[8:], nanos(r.Leased))
	binary.BigEndian.PutUint64(b[16:], nanos(r.Visible))
	binary.BigEndian.PutUint32(b[24:], r.Attempts)
	copy(b[28:], r.Epoch[:])
	return append(b, r.item...)
}

// decodeQueueRecord reads a record; r.item shares v (valid only in the
// transaction).
func decodeQueueRecord(v []byte) (queueRecord, error) {
	if len(v) < queueHeader {
		return queueRecord{}, errors.New("queue record too short")
	}
	r := queueRecord{
		Enqueued: fromNanos(binary.BigEndian.Uint64(v[0:])),
		Leased:   fromNanos(binary.BigEndian.Uint64(v[8:])),
		Visible:  fromNanos(binary.BigEndian.Uint64(v[16:])),
		Attempts: binary.BigEndian.Uint32(v[24:]),
		item:     v[queueHeader:],
	}
	copy(r.Epoch[:], v[28:36])
	return r, nil
}

func (s *MemoryStore) claimable(r *queueRecord, now time.Time) bool {
	return r.Leased.IsZero() || !now.Before(r.Visible) || r.Epoch != s.db.epoch
}

// Enqueue appends items in one transaction.
func (s *MemoryStore) Enqueue(ctx context.Context, items []memory.Interaction) error {
	if len(items) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.opts.Now()
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(memQueueBucket)
		for i := range items {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			item, err := json.Marshal(&items[i])
			if err != nil {
				return err
			}
			rec := queueRecord{Enqueued: now, item: item}
			if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), rec.encode()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueueing interactions: %w", err)
	}
	s.db.memory.notify()
	return nil
}

// Claim leases up to max claimable interactions, oldest first, waiting up
// to wait for one.
func (s *MemoryStore) Claim(ctx context.Context, consumer string, max int, wait time.Duration) ([]memory.Delivery, error) {
	if max <= 0 {
		return nil, nil
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		woken := s.db.memory.waiter()
		ds, err := s.claimOnce(ctx, max)
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		// A lease that runs out wakes no one: look again after a while.
		poll := time.NewTimer(min(wait, time.Second))
		select {
		case <-ctx.Done():
			poll.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			poll.Stop()
			return s.claimOnce(ctx, max)
		case <-woken:
		case <-poll.C:
		}
		poll.Stop()
	}
}

func (s *MemoryStore) claimOnce(ctx context.Context, max int) ([]memory.Delivery, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.opts.Now()
	var out []memory.Delivery
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(memQueueBucket)
		type upd struct {
			k []byte
			v []byte
		}
		var ups []upd
		c := b.Cursor()
		var bad [][]byte
		for k, v := c.First(); k != nil && len(out) < max; k, v = c.Next() {
			r, err := decodeQueueRecord(v)
			if err != nil {
				bad = append(bad, bytes.Clone(k))
				continue
			}
			if !s.claimable(&r, now) {
				continue
			}
			d := memory.Delivery{Receipt: hex.EncodeToString(k)}
			if err := json.Unmarshal(r.item, &d.Interaction); err != nil {
				bad = append(bad, bytes.Clone(k)) // unreadable: nothing to consolidate
				continue
			}
			r.Leased, r.Visible, r.Epoch = now, now.Add(s.opts.Lease), s.db.epoch
			r.Attempts++
			d.Attempt = int(r.Attempts)
			ups = append(ups, upd{bytes.Clone(k), r.encode()})
			out = append(out, d)
		}
		for _, k := range bad {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for _, u := range ups {
			if err := b.Put(u.k, u.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming interactions: %w", err)
	}
	return out, nil
}

// Ack deletes the deliveries' records.
func (s *MemoryStore) Ack(ctx context.Context, ds []memory.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(memQueueBucket)
		for _, d := range ds {
			k, err := hex.DecodeString(d.Receipt)
			if err != nil || len(k) != 8 {
				return fmt.Errorf("receipt %q is not one of this queue's", d.Receipt)
			}
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("acknowledging interactions: %w", err)
	}
	return nil
}

// Stats counts the queue's records.
func (s *MemoryStore) Stats(ctx context.Context) (memory.QueueStats, error) {
	if err := ctx.Err(); err != nil {
		return memory.QueueStats{}, err
	}
	now := s.opts.Now()
	var st memory.QueueStats
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(memQueueBucket).ForEach(func(_, v []byte) error {
			r, err := decodeQueueRecord(v)
			if err != nil {
				return nil // Claim deletes it
			}
			st.Depth++
			if !s.claimable(&r, now) {
				st.InFlight++
			}
			if st.Oldest.IsZero() || r.Enqueued.Before(st.Oldest) {
				st.Oldest = r.Enqueued
			}
			return nil
		})
	})
	if err != nil {
		return memory.QueueStats{}, fmt.Errorf("reading queue stats: %w", err)
	}
	return st, nil
}
