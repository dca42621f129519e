package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/rollout"
)

// flagsBucket holds the rollout flag's history: the key is the version as 8
// big-endian bytes, the value the JSON Flag. The last key is the current
// flag, so the current flag and its history cannot disagree.
var flagsBucket = []byte("rollout_flags")

// FlagStore is the embedded rollout.FlagStore: the flag of one gateway
// process, kept on disk so that it survives a restart. Set is one bbolt
// transaction (bbolt has a single writer, which serialises versions);
// watchers are told after it commits. Every FlagStore of one DB shares the
// DB's watchers, so a Set through one wakes the Watch of another. It is
// safe for concurrent use.
type FlagStore struct {
	db *DB
}

var _ rollout.FlagStore = (*FlagStore)(nil)

// NewFlagStore returns the rollout flag store of db.
func NewFlagStore(db *DB) *FlagStore { return &FlagStore{db: db} }

func versionKey(v int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(v))
}

func decodeFlag(v []byte) (rollout.Flag, error) {
	var f rollout.Flag
	if err := json.Unmarshal(v, &f); err != nil {
		return rollout.Flag{}, fmt.Errorf("decoding rollout flag: %w", err)
	}
	return f, nil
}

// Get implements rollout.FlagStore.
func (s *FlagStore) Get(ctx context.Context) (rollout.Flag, error) {
	if err := ctx.Err(); err != nil {
		return rollout.Flag{}, err
	}
	var f rollout.Flag
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flagsBucket)
		if b == nil {
			return rollout.ErrNoFlag
		}
		_, v := b.Cursor().Last()
		if v == nil {
			return rollout.ErrNoFlag
		}
		var err error
		f, err = decodeFlag(v)
		return err
	})
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	return f, nil
}

// Set implements rollout.FlagStore.
func (s *FlagStore) Set(ctx context.Context, f rollout.Flag) (rollout.Flag, error) {
	if err := ctx.Err(); err != nil {
		return rollout.Flag{}, err
	}
	if f.At.IsZero() {
		f.At = time.Now()
	}
	f.At = f.At.Round(0) // as JSON keeps it: no monotonic reading
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(flagsBucket)
		if err != nil {
			return err
		}
		f.Version = 1
		c := b.Cursor()
		if k, _ := c.Last(); k != nil {
			f.Version = int64(binary.BigEndian.Uint64(k)) + 1
		}
		v, err := json.Marshal(f)
		if err != nil {
			return err
		}
		if err := b.Put(versionKey(f.Version), v); err != nil {
			return err
		}
		// Trim from the oldest (keys sort by version). Keys are collected
		// first: deleting under a moving cursor can skip entries.
		var old [][]byte
		for k, _ := c.First(); k != nil && int64(binary.BigEndian.Uint64(k)) <= f.Version-rollout.HistoryLimit; k, _ = c.Next() {
			old = append(old, bytes.Clone(k))
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("storing rollout flag: %w", err)
	}
	s.db.flagWatchers.notify()
	return f, nil
}

// History implements rollout.FlagStore.
func (s *FlagStore) History(ctx context.Context, limit int) ([]rollout.Flag, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []rollout.Flag{}
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(flagsBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			f, err := decodeFlag(v)
			if err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading rollout history: %w", err)
	}
	return out, nil
}

// Watch implements rollout.FlagStore. Only this process can write the
// file, so the feed is an in-process broadcast; it breaks only when ctx is
// done, and then the channel is closed.
func (s *FlagStore) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.db.flagWatchers.add(ctx), nil
}

// watchers is an in-process change feed. The zero value is ready to use;
// it is safe for concurrent use.
type watchers struct {
	mu  sync.Mutex // guards set
	set map[chan struct{}]struct{}
}

// add returns a channel that notify wakes until ctx is done, when it is
// closed.
func (w *watchers) add(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.set == nil {
		w.set = map[chan struct{}]struct{}{}
	}
	w.set[ch] = struct{}{}
	w.mu.Unlock()
	context.AfterFunc(ctx, func() {
		w.mu.Lock()
		delete(w.set, ch)
		w.mu.Unlock()
		close(ch)
	})
	return ch
}

// notify wakes every channel without blocking: one pending value per
// channel is enough, since receivers read the store.
func (w *watchers) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.set {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
