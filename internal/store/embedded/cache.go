package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// Buckets of the cache store:
//
//	cache_entries   ID → entry (cachecodec)
//	cache_sessions  len32(session) session ID → nil: DeleteBySession seeks
//	                the session's prefix
//	cache_expiry    8 bytes of big-endian Unix nanoseconds, then ID → nil:
//	                expired entries are found without reading the others
var (
	cacheEntriesBucket  = []byte("cache_entries")
	cacheSessionsBucket = []byte("cache_sessions")
	cacheExpiryBucket   = []byte("cache_expiry")
)

// cacheSweepPerPut is how many expired entries each Put deletes, so that
// the file stays bounded by the live entries without a background sweeper
// and no Put does much more work than its own.
const cacheSweepPerPut = 8

// CacheStore is the embedded cache.Store: one bbolt file, for a single
// gateway process (bbolt lets one process open it). Its change feed is an
// in-process broadcast of the writes made through any CacheStore on the
// same DB, in commit order; a watcher that falls 1024 changes behind is
// closed (and the cache re-lists). Expired entries are skipped by List and
// deleted a few at a time by later Puts. It is safe for concurrent use.
type CacheStore struct {
	db  *DB
	now func() time.Time
}

var _ cache.Store = (*CacheStore)(nil)

// NewCacheStore returns the cache store of db; now is its clock (nil:
// time.Now), which decides what has expired.
func NewCacheStore(db *DB, now func() time.Time) *CacheStore {
	if now == nil {
		now = time.Now
	}
	return &CacheStore{db: db, now: now}
}

func cacheSessionKey(session, id string) []byte {
	b := make([]byte, 4, 4+len(session)+len(id))
	binary.BigEndian.PutUint32(b, uint32(len(session)))
	b = append(b, session...)
	return append(b, id...)
}

func cacheExpiryKey(at time.Time, id string) []byte {
	b := make([]byte, 8, 8+len(id))
	if !at.IsZero() {
		binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	}
	return append(b, id...)
}

// removeEntry deletes entry id and its index keys in the write
// transaction tx, and reports whether it was there.
func removeEntry(tx *bolt.Tx, id string) (bool, error) {
	eb := tx.Bucket(cacheEntriesBucket)
	v := eb.Get([]byte(id))
	if v == nil {
		return false, nil
	}
	if m, err := cachecodec.Peek(v); err == nil {
		if m.SessionID != "" {
			if err := tx.Bucket(cacheSessionsBucket).Delete(cacheSessionKey(m.SessionID, id)); err != nil {
				return false, err
			}
		}
		if err := tx.Bucket(cacheExpiryBucket).Delete(cacheExpiryKey(m.ExpiresAt, id)); err != nil {
			return false, err
		}
	}
	// An entry that does not decode leaves at most two orphan index keys,
	// which are harmless: both are checked against cache_entries.
	return true, eb.Delete([]byte(id))
}

// update runs fn in a write transaction with the buckets created, then
// publishes the change fn returns (if any) to the watchers, in commit
// order.
func (s *CacheStore) update(ctx context.Context, fn func(tx *bolt.Tx) (*cache.Change, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Writes share transactions (and fsyncs) with concurrent ones; the
	// change is published once durable, in commit order. fn may run more
	// than once: ch is set anew each time.
	var ch *cache.Change
	return s.db.updateThen(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{cacheEntriesBucket, cacheSessionsBucket, cacheExpiryBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		var err error
		ch, err = fn(tx)
		return err
	}, func() {
		if ch != nil {
			s.db.cacheFeed.publish(*ch)
		}
	})
}

// Put stores e and deletes a few expired entries.
func (s *CacheStore) Put(ctx context.Context, e cache.Entry) error {
	v, err := cachecodec.Marshal(e)
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	e.Vector = append([]float32(nil), e.Vector...) // watchers get their own copy
	err = s.update(ctx, func(tx *bolt.Tx) (*cache.Change, error) {
		if _, err := removeEntry(tx, e.ID); err != nil {
			return nil, err
		}
		if err := tx.Bucket(cacheEntriesBucket).Put([]byte(e.ID), v); err != nil {
			return nil, err
		}
		if e.SessionID != "" {
			if err := tx.Bucket(cacheSessionsBucket).Put(cacheSessionKey(e.SessionID, e.ID), nil); err != nil {
				return nil, err
			}
		}
		if err := tx.Bucket(cacheExpiryBucket).Put(cacheExpiryKey(e.ExpiresAt, e.ID), nil); err != nil {
			return nil, err
		}
		if err := s.sweep(tx, e.ID); err != nil {
			return nil, err
		}
		return &cache.Change{Op: cache.OpPut, Entry: e}, nil
	})
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	return nil
}

// sweep deletes up to cacheSweepPerPut expired entries other than keep.
// Entries without an expiry sort first and are never swept.
func (s *CacheStore) sweep(tx *bolt.Tx, keep string) error {
	limit := cacheExpiryKey(s.now(), "")
	var ids []string
	c := tx.Bucket(cacheExpiryBucket).Cursor()
	for k, _ := c.Seek([]byte{0, 0, 0, 0, 0, 0, 0, 1}); k != nil && bytes.Compare(k[:8], limit) < 0 && len(ids) < cacheSweepPerPut; k, _ = c.Next() {
		if id := string(k[8:]); id != keep {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if _, err := removeEntry(tx, id); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes ids.
func (s *CacheStore) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.update(ctx, func(tx *bolt.Tx) (*cache.Change, error) {
		var gone []string
		for _, id := range ids {
			ok, err := removeEntry(tx, id)
			if err != nil {
				return nil, err
			}
			if ok {
				gone = append(gone, id)
			}
		}
		if len(gone) == 0 {
			return nil, nil
		}
		return &cache.Change{Op: cache.OpDelete, IDs: gone}, nil
	})
	if err != nil {
		return fmt.Errorf("deleting cache entries: %w", err)
	}
	return nil
}

// DeleteBySession removes the entries of session sessionID of tenant. The
// session index is by session id alone, which tenants share, so each
// entry's tenant is checked.
func (s *CacheStore) DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	var gone []string
	err := s.update(ctx, func(tx *bolt.Tx) (*cache.Change, error) {
		gone = nil // a group commit may run this again
		prefix := cacheSessionKey(sessionID, "")
		eb := tx.Bucket(cacheEntriesBucket)
		var ids []string
		c := tx.Bucket(cacheSessionsBucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := k[len(prefix):]
			if m, err := cachecodec.Peek(eb.Get(id)); err == nil && m.Tenant == tenant {
				ids = append(ids, string(id))
			}
		}
		for _, id := range ids {
			ok, err := removeEntry(tx, id)
			if err != nil {
				return nil, err
			}
			if ok {
				gone = append(gone, id)
			}
		}
		if len(gone) == 0 {
			return nil, nil
		}
		return &cache.Change{Op: cache.OpDelete, IDs: gone}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("deleting cache entries of session %s: %w", sessionID, err)
	}
	return gone, nil
}

// Purge removes the entries f matches. It reads every entry's indexed
// fields in one write transaction: an admin call, rare, that holds up
// other writes for the time of the scan (about a second per few hundred
// thousand entries).
func (s *CacheStore) Purge(ctx context.Context, f cache.Filter) (int, error) {
	if f == (cache.Filter{}) {
		return 0, cache.ErrEmptyFilter
	}
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) (*cache.Change, error) {
		var ids []string
		err := tx.Bucket(cacheEntriesBucket).ForEach(func(k, v []byte) error {
			m, err := cachecodec.Peek(v)
			if err != nil {
				return err
			}
			if m.Match(f) {
				ids = append(ids, string(k))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if _, err := removeEntry(tx, id); err != nil {
				return nil, err
			}
		}
		n = len(ids)
		return &cache.Change{Op: cache.OpPurge, Filter: f}, nil
	})
	if err != nil {
		return 0, fmt.Errorf("purging cache entries: %w", err)
	}
	return n, nil
}

// listBatch is how many entries List decodes per read transaction, so that
// a long warm start does not pin old pages of the file (bbolt keeps every
// page a reader might see).
const listBatch = 1000

// List calls fn for every live entry, outside any transaction. Entries
// written while it runs may or may not be listed.
func (s *CacheStore) List(ctx context.Context, fn func(cache.Entry) error) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := s.now()
		var batch []cache.Entry
		err := s.db.bolt.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(cacheEntriesBucket)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(batch) < listBatch; k, v = c.Next() {
				after = bytes.Clone(k)
				e, err := cachecodec.Unmarshal(v)
				if err != nil {
					return err
				}
				if e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt) {
					batch = append(batch, e)
				}
			}
			if k == nil {
				after = nil // done
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if after == nil {
			return nil
		}
	}
}

// Watch subscribes to the changes made through any CacheStore on this DB
// until ctx is done.
func (s *CacheStore) Watch(ctx context.Context) (<-chan cache.Change, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.db.cacheFeed.subscribe(ctx), nil
}

// cacheFeedBuffer is how many changes a watcher may fall behind before it
// is closed.
const cacheFeedBuffer = 1024

// cacheFeed broadcasts the cache store's committed changes to watchers in
// this process. The zero value is ready to use.
type cacheFeed struct {
	mu       sync.Mutex // guards watchers
	watchers map[chan cache.Change]struct{}
}

func (f *cacheFeed) subscribe(ctx context.Context) <-chan cache.Change {
	ch := make(chan cache.Change, cacheFeedBuffer)
	f.mu.Lock()
	if f.watchers == nil {
		f.watchers = make(map[chan cache.Change]struct{})
	}
	f.watchers[ch] = struct{}{}
	f.mu.Unlock()
	context.AfterFunc(ctx, func() { f.drop(ch) })
	return ch
}

// drop unsubscribes and closes ch, if it still is subscribed.
func (f *cacheFeed) drop(ch chan cache.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.watchers[ch]; ok {
		delete(f.watchers, ch)
		close(ch)
	}
}

func (f *cacheFeed) publish(c cache.Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.watchers {
		select {
		case ch <- c:
		default:
			delete(f.watchers, ch)
			close(ch)
		}
	}
}
