package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/keys"
)

// Client keys are three buckets:
//
//	keys          id → the JSON keys.Key
//	keys_by_hash  hash → id
//	key_spend     id "|" period → spend in billionths of a dollar, 8 bytes
//
// The minute counters are in memory only: the embedded store belongs to
// one process, and a minute's counts lost in a restart let at most one
// minute's requests through twice. Spend is kept on disk, so that a
// month's budget survives restarts; it is read into memory once per key
// and period, and each Settle writes it back.
var (
	keysBucket     = []byte("keys")
	keysByHash     = []byte("keys_by_hash")
	keySpendBucket = []byte("key_spend")
)

// keyCounters are a DB's counts of client keys, shared by every KeyStore
// on it.
type keyCounters struct {
	mu      sync.Mutex           // guards windows and spend
	windows map[string]keyWindow // by key id: its latest minute
	spend   map[string]int64     // by id "|" period, once read from disk
}

// keyWindow counts one key's requests and tokens in one minute.
type keyWindow struct {
	id               string
	requests, tokens int64
}

// KeyStore is the embedded keys.Store. Admit and Settle take one lock
// shared by every KeyStore of the DB, so they are exact. It is safe for
// concurrent use.
type KeyStore struct {
	db *DB
}

var _ keys.Store = (*KeyStore)(nil)

// NewKeyStore returns the key store of db.
func NewKeyStore(db *DB) *KeyStore { return &KeyStore{db: db} }

// Create implements keys.Store.
func (s *KeyStore) Create(ctx context.Context, k keys.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return s.db.bolt.Update(func(tx *bolt.Tx) error {
		kb, err := tx.CreateBucketIfNotExists(keysBucket)
		if err != nil {
			return err
		}
		hb, err := tx.CreateBucketIfNotExists(keysByHash)
		if err != nil {
			return err
		}
		if kb.Get([]byte(k.ID)) != nil || hb.Get([]byte(k.Hash)) != nil {
			return keys.ErrExists
		}
		if err := kb.Put([]byte(k.ID), v); err != nil {
			return err
		}
		return hb.Put([]byte(k.Hash), []byte(k.ID))
	})
}

// Lookup implements keys.Store.
func (s *KeyStore) Lookup(ctx context.Context, hash string) (keys.Key, error) {
	if err := ctx.Err(); err != nil {
		return keys.Key{}, err
	}
	var k keys.Key
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		hb, kb := tx.Bucket(keysByHash), tx.Bucket(keysBucket)
		if hb == nil || kb == nil {
			return keys.ErrNotFound
		}
		id := hb.Get([]byte(hash))
		if id == nil {
			return keys.ErrNotFound
		}
		return decodeKey(kb.Get(id), &k)
	})
	return k, err
}

func decodeKey(v []byte, k *keys.Key) error {
	if v == nil {
		return keys.ErrNotFound
	}
	if err := json.Unmarshal(v, k); err != nil {
		return fmt.Errorf("decoding key: %w", err)
	}
	return nil
}

// List implements keys.Store.
func (s *KeyStore) List(ctx context.Context) ([]keys.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []keys.Key
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		kb := tx.Bucket(keysBucket)
		if kb == nil {
			return nil
		}
		return kb.ForEach(func(_, v []byte) error {
			var k keys.Key
			if err := decodeKey(v, &k); err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	slices.SortFunc(out, func(a, b keys.Key) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// Revoke implements keys.Store.
func (s *KeyStore) Revoke(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.bolt.Update(func(tx *bolt.Tx) error {
		kb := tx.Bucket(keysBucket)
		if kb == nil {
			return keys.ErrNotFound
		}
		var k keys.Key
		if err := decodeKey(kb.Get([]byte(id)), &k); err != nil {
			return err
		}
		if !k.Revoked.IsZero() {
			return nil
		}
		k.Revoked = at.UTC()
		v, err := json.Marshal(k)
		if err != nil {
			return err
		}
		return kb.Put([]byte(id), v)
	})
}

// spentLocked returns the spend of id in period, read from disk the first
// time. c.mu must be held.
func (s *KeyStore) spentLocked(id, period string) (int64, error) {
	c := &s.db.keyCounters
	sk := id + "|" + period
	if n, ok := c.spend[sk]; ok {
		return n, nil
	}
	var n int64
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(keySpendBucket); b != nil {
			if v := b.Get([]byte(sk)); len(v) == 8 {
				n = int64(binary.BigEndian.Uint64(v))
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading key spend: %w", err)
	}
	if c.spend == nil {
		c.spend = map[string]int64{}
	}
	c.spend[sk] = n
	return n, nil
}

// Admit implements keys.Store.
func (s *KeyStore) Admit(ctx context.Context, a keys.Admission) (keys.Verdict, error) {
	if err := ctx.Err(); err != nil {
		return keys.Verdict{}, err
	}
	c := &s.db.keyCounters
	c.mu.Lock()
	defer c.mu.Unlock()
	var v keys.Verdict
	if a.BudgetNano > 0 {
		n, err := s.spentLocked(a.ID, a.Period)
		if err != nil {
			return keys.Verdict{}, err
		}
		v.SpentNano = n
	}
	w := c.windows[a.ID]
	if w.id != a.Window {
		if w.id > a.Window {
			// A request admitted as the minute turned, behind a later
			// one: it counts in the later minute.
			a.Window = w.id
		} else {
			w = keyWindow{id: a.Window}
		}
	}
	v.Requests, v.Tokens = w.requests, w.tokens
	switch {
	case a.BudgetNano > 0 && v.SpentNano >= a.BudgetNano:
		v.Refused = keys.RefusedBudget
	case a.RPM > 0 && w.requests >= a.RPM:
		v.Refused = keys.RefusedRPM
	case a.TPM > 0 && w.tokens > 0 && w.tokens+a.Tokens > a.TPM:
		v.Refused = keys.RefusedTPM
	default:
		w.requests++
		w.tokens += a.Tokens
		v.Requests, v.Tokens = w.requests, w.tokens
		if c.windows == nil {
			c.windows = map[string]keyWindow{}
		}
		c.windows[a.ID] = w
	}
	return v, nil
}

// Settle implements keys.Store.
func (s *KeyStore) Settle(ctx context.Context, st keys.Settlement) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &s.db.keyCounters
	c.mu.Lock()
	if st.Tokens != 0 {
		w := c.windows[st.ID]
		switch {
		case w.id == st.Window:
			w.tokens += st.Tokens
		case w.id < st.Window:
			w = keyWindow{id: st.Window, tokens: st.Tokens}
		}
		if c.windows == nil {
			c.windows = map[string]keyWindow{}
		}
		c.windows[st.ID] = w
	}
	if st.CostNano == 0 {
		c.mu.Unlock()
		return nil
	}
	n, err := s.spentLocked(st.ID, st.Period)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	n += st.CostNano
	c.spend[st.ID+"|"+st.Period] = n
	c.mu.Unlock()
	// Written outside the lock; Batch coalesces concurrent writes into one
	// transaction. Spend only grows, so a value smaller than the one on
	// disk (a Settle overtaken by a later one) is not written.
	return s.db.bolt.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(keySpendBucket)
		if err != nil {
			return err
		}
		sk := []byte(st.ID + "|" + st.Period)
		if v := b.Get(sk); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= n {
			return nil
		}
		return b.Put(sk, binary.BigEndian.AppendUint64(nil, uint64(n)))
	})
}

// Spent implements keys.Store.
func (s *KeyStore) Spent(ctx context.Context, id, period string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c := &s.db.keyCounters
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.spentLocked(id, period)
}
