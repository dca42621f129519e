package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/session"
)

// Buckets of the session store. sessionsBucket maps tenant NUL id to a JSON
// sessionRecord; expiryBucket indexes the sessions by expiry (8 bytes of
// big-endian Unix nanoseconds, then the session key) so that Sweep reads
// only the expired ones.
var (
	sessionsBucket = []byte("sessions")
	expiryBucket   = []byte("sessions_expiry")
)

// SessionStore is the embedded session.Store. Writes are serialised by
// bbolt's single writer, which makes Append and Fold atomic. It is safe for
// concurrent use.
type SessionStore struct {
	db   *DB
	opts session.StoreOptions
}

var (
	_ session.Store   = (*SessionStore)(nil)
	_ session.Sweeper = (*SessionStore)(nil)
)

// NewSessionStore returns the session store of db.
func NewSessionStore(db *DB, o session.StoreOptions) *SessionStore {
	return &SessionStore{db: db, opts: o.WithDefaults()}
}

type sessionRecord struct {
	Summary string       `json:"summary,omitempty"`
	Through int64        `json:"through,omitempty"`
	Last    int64        `json:"last"`
	Updated time.Time    `json:"updated"`
	Expires time.Time    `json:"expires"`
	Turns   []turnRecord `json:"turns"`
}

type turnRecord struct {
	Seq     int64     `json:"seq"`
	Role    string    `json:"role"`
	Content string    `json:"content"`
	Model   string    `json:"model,omitempty"`
	Tokens  int       `json:"tokens,omitempty"`
	At      time.Time `json:"at"`
}

func sessionKey(k session.Key) []byte {
	// Validate forbids NUL in both parts, so the join is unambiguous.
	return []byte(k.Tenant + "\x00" + k.ID)
}

func expiryKey(at time.Time, key []byte) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	return append(b, key...)
}

// get returns the live record of key in tx, or nil.
func (s *SessionStore) get(tx *bolt.Tx, key []byte, now time.Time) (*sessionRecord, error) {
	b := tx.Bucket(sessionsBucket)
	if b == nil {
		return nil, nil
	}
	v := b.Get(key)
	if v == nil {
		return nil, nil
	}
	var rec sessionRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("decoding session record: %w", err)
	}
	if !now.Before(rec.Expires) {
		return nil, nil
	}
	return &rec, nil
}

func (s *SessionStore) put(tx *bolt.Tx, key []byte, rec *sessionRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b, err := tx.CreateBucketIfNotExists(sessionsBucket)
	if err != nil {
		return err
	}
	return b.Put(key, v)
}

// remove deletes key and its expiry entry, whatever its state.
func (s *SessionStore) remove(tx *bolt.Tx, key []byte) error {
	b := tx.Bucket(sessionsBucket)
	if b == nil {
		return nil
	}
	v := b.Get(key)
	if v == nil {
		return nil
	}
	var rec sessionRecord
	if err := json.Unmarshal(v, &rec); err == nil {
		if eb := tx.Bucket(expiryBucket); eb != nil {
			if err := eb.Delete(expiryKey(rec.Expires, key)); err != nil {
				return err
			}
		}
	}
	return b.Delete(key)
}

func (s *SessionStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var rec *sessionRecord
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = s.get(tx, sessionKey(k), s.opts.Now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loading session: %w", err)
	}
	if rec == nil {
		return nil, session.ErrNotFound
	}
	out := &session.Session{Key: k, Summary: rec.Summary, SummaryThrough: rec.Through, UpdatedAt: rec.Updated}
	out.Turns = make([]session.Turn, len(rec.Turns))
	for i, t := range rec.Turns {
		out.Turns[i] = session.Turn{Seq: t.Seq, Role: t.Role, Content: t.Content, Model: t.Model, Tokens: t.Tokens, At: t.At}
	}
	return out, nil
}

func (s *SessionStore) Append(ctx context.Context, k session.Key, turns ...session.Turn) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if len(turns) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.opts.Now()
	key := sessionKey(k)
	// Appends share transactions (and fsyncs) with concurrent ones; the
	// function reads the record inside tx, so running it again is safe.
	err := s.db.update(func(tx *bolt.Tx) error {
		rec, err := s.get(tx, key, now)
		if err != nil {
			return err
		}
		// An expired record is replaced; its expiry entry goes with it.
		if err := s.remove(tx, key); err != nil {
			return err
		}
		if rec == nil {
			rec = &sessionRecord{}
		}
		for _, t := range turns {
			rec.Last++
			rec.Turns = append(rec.Turns, turnRecord{Seq: rec.Last, Role: t.Role, Content: t.Content, Model: t.Model, Tokens: t.Tokens, At: t.At})
		}
		rec.Updated, rec.Expires = now, now.Add(s.opts.TTL)
		if err := s.put(tx, key, rec); err != nil {
			return err
		}
		eb, err := tx.CreateBucketIfNotExists(expiryBucket)
		if err != nil {
			return err
		}
		return eb.Put(expiryKey(rec.Expires, key), nil)
	})
	if err != nil {
		return fmt.Errorf("appending to session: %w", err)
	}
	return nil
}

func (s *SessionStore) Fold(ctx context.Context, k session.Key, f session.Fold) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	key := sessionKey(k)
	return s.db.bolt.Update(func(tx *bolt.Tx) error {
		rec, err := s.get(tx, key, s.opts.Now())
		if err != nil {
			return err
		}
		if rec == nil {
			return session.ErrNotFound
		}
		if err := session.CheckFold(f, rec.Through, rec.Last); err != nil {
			return err
		}
		rec.Turns = rec.Turns[f.Through-rec.Through:]
		rec.Summary, rec.Through = f.Summary, f.Through
		return s.put(tx, key, rec)
	})
}

func (s *SessionStore) Delete(ctx context.Context, k session.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.bolt.Update(func(tx *bolt.Tx) error { return s.remove(tx, sessionKey(k)) })
}

// sweepBatch bounds the sessions deleted per transaction, so that a sweep
// does not hold the writer lock for long.
const sweepBatch = 500

// Sweep deletes the sessions that have expired and returns how many.
func (s *SessionStore) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		limit := expiryKey(s.opts.Now(), nil)
		n := 0
		err := s.db.bolt.Update(func(tx *bolt.Tx) error {
			eb := tx.Bucket(expiryBucket)
			if eb == nil {
				return nil
			}
			var expired [][]byte
			c := eb.Cursor()
			for ek, _ := c.First(); ek != nil && bytes.Compare(ek[:8], limit) < 0 && len(expired) < sweepBatch; ek, _ = c.Next() {
				expired = append(expired, bytes.Clone(ek))
			}
			b := tx.Bucket(sessionsBucket)
			for _, ek := range expired {
				if err := eb.Delete(ek); err != nil {
					return err
				}
				if b != nil {
					if err := b.Delete(ek[8:]); err != nil {
						return err
					}
				}
			}
			n = len(expired)
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("deleting expired sessions: %w", err)
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}
