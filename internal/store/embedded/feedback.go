package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cato-gateway/cato/internal/feedback"
)

// Buckets of the feedback store:
//
//	feedback_answers         tenant NUL request id → JSON answerRecord
//	feedback_answers_expiry  8-byte expiry (Unix ns, big-endian) + answer key → nil
//	feedback_ratings         tenant NUL request id NUL user → JSON ratingRecord
//	feedback_ratings_by_time 8-byte rated at + rating key → JSON countEntry
//
// The time index holds one entry per rating, at its latest version's time,
// so Counts reads only the range asked for and a replaced rating counts
// once; Sweep reads only what is due.
var (
	fbAnswersBucket = []byte("feedback_answers")
	fbExpiryBucket  = []byte("feedback_answers_expiry")
	fbRatingsBucket = []byte("feedback_ratings")
	fbByTimeBucket  = []byte("feedback_ratings_by_time")
	feedbackBuckets = [][]byte{fbAnswersBucket, fbExpiryBucket, fbRatingsBucket, fbByTimeBucket}
)

// FeedbackStore is the embedded feedback.Store. bbolt's single writer
// makes Rate atomic. It is safe for concurrent use.
type FeedbackStore struct {
	db   *DB
	opts feedback.StoreOptions
}

var _ feedback.Store = (*FeedbackStore)(nil)

// NewFeedbackStore returns the feedback store of db.
func NewFeedbackStore(db *DB, o feedback.StoreOptions) *FeedbackStore {
	return &FeedbackStore{db: db, opts: o.WithDefaults()}
}

type answerRecord struct {
	Side    string    `json:"side"`
	Model   string    `json:"model"`
	Route   string    `json:"route"`
	Cached  bool      `json:"cached,omitempty"`
	At      time.Time `json:"at"`
	Expires time.Time `json:"expires"`
}

type ratingRecord struct {
	Rating  int              `json:"rating"`
	Scale   feedback.Scale   `json:"scale"`
	Verdict feedback.Verdict `json:"verdict"`
	Comment string           `json:"comment,omitempty"`
	At      time.Time        `json:"at"`
	Answer  answerRecord     `json:"answer"`
}

type countEntry struct {
	Side    string           `json:"side"`
	Model   string           `json:"model"`
	Verdict feedback.Verdict `json:"verdict"`
}

func timeKey(at time.Time, key []byte) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	return append(b, key...)
}

func createFeedbackBuckets(tx *bolt.Tx) error {
	for _, name := range feedbackBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func (s *FeedbackStore) Remember(ctx context.Context, answers ...feedback.Answer) error {
	for _, a := range answers {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	if len(answers) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	expires := s.opts.Now().Add(s.opts.AnswerTTL)
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		if err := createFeedbackBuckets(tx); err != nil {
			return err
		}
		ab, eb := tx.Bucket(fbAnswersBucket), tx.Bucket(fbExpiryBucket)
		for _, a := range answers {
			key := []byte(a.Tenant + "\x00" + a.RequestID)
			if old := ab.Get(key); old != nil {
				var rec answerRecord
				if json.Unmarshal(old, &rec) == nil {
					if err := eb.Delete(timeKey(rec.Expires, key)); err != nil {
						return err
					}
				}
			}
			v, err := json.Marshal(answerRecord{Side: a.Side, Model: a.Model, Route: a.Route, Cached: a.Cached, At: a.At, Expires: expires})
			if err != nil {
				return err
			}
			if err := ab.Put(key, v); err != nil {
				return err
			}
			if err := eb.Put(timeKey(expires, key), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remembering answers: %w", err)
	}
	return nil
}

func (s *FeedbackStore) Rate(ctx context.Context, r feedback.Rating) (feedback.Rated, error) {
	if err := r.Validate(); err != nil {
		return feedback.Rated{}, err
	}
	if err := ctx.Err(); err != nil {
		return feedback.Rated{}, err
	}
	now := s.opts.Now()
	akey := []byte(r.Tenant + "\x00" + r.RequestID)
	rkey := []byte(r.Tenant + "\x00" + r.RequestID + "\x00" + r.User)
	var out feedback.Rated
	err := s.db.bolt.Update(func(tx *bolt.Tx) error {
		if err := createFeedbackBuckets(tx); err != nil {
			return err
		}
		v := tx.Bucket(fbAnswersBucket).Get(akey)
		if v == nil {
			return feedback.ErrUnknownRequest
		}
		var ans answerRecord
		if err := json.Unmarshal(v, &ans); err != nil {
			return fmt.Errorf("decoding answer record: %w", err)
		}
		if !now.Before(ans.Expires) {
			return feedback.ErrUnknownRequest
		}
		rb, tb := tx.Bucket(fbRatingsBucket), tx.Bucket(fbByTimeBucket)
		if old := rb.Get(rkey); old != nil {
			out.Replaced = true
			var prev ratingRecord
			if err := json.Unmarshal(old, &prev); err == nil {
				if err := tb.Delete(timeKey(prev.At, rkey)); err != nil {
					return err
				}
			}
		}
		rec := ratingRecord{Rating: r.Rating, Scale: r.Scale, Verdict: r.Verdict, Comment: r.Comment, At: now, Answer: ans}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := rb.Put(rkey, b); err != nil {
			return err
		}
		c, err := json.Marshal(countEntry{Side: ans.Side, Model: ans.Model, Verdict: r.Verdict})
		if err != nil {
			return err
		}
		if err := tb.Put(timeKey(now, rkey), c); err != nil {
			return err
		}
		r.At = now
		r.Answer = feedback.Answer{Tenant: r.Tenant, RequestID: r.RequestID, Side: ans.Side, Model: ans.Model, Route: ans.Route, Cached: ans.Cached, At: ans.At}
		out.Rating = r
		return nil
	})
	if err != nil {
		if errors.Is(err, feedback.ErrUnknownRequest) {
			return feedback.Rated{}, err
		}
		return feedback.Rated{}, fmt.Errorf("rating answer: %w", err)
	}
	return out, nil
}

func (s *FeedbackStore) Counts(ctx context.Context, since, until time.Time) ([]feedback.Count, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type key struct {
		side, model string
		v           feedback.Verdict
	}
	sums := map[key]uint64{}
	lo, hi := timeKey(since, nil), timeKey(until, nil)
	err := s.db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(fbByTimeBucket)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(lo); k != nil && bytes.Compare(k[:8], hi) < 0; k, v = c.Next() {
			var e countEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decoding rating index: %w", err)
			}
			sums[key{e.Side, e.Model, e.Verdict}]++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting ratings: %w", err)
	}
	out := make([]feedback.Count, 0, len(sums))
	for k, n := range sums {
		out = append(out, feedback.Count{Side: k.side, Model: k.model, Verdict: k.v, N: n})
	}
	return out, nil
}

// Sweep deletes, in batches of sweepBatch per transaction, the answers
// past their TTL and the ratings older than the retention.
func (s *FeedbackStore) Sweep(ctx context.Context) (int, error) {
	total := 0
	for _, p := range []struct {
		index, data []byte
		before      time.Time
	}{
		{fbExpiryBucket, fbAnswersBucket, s.opts.Now()},
		{fbByTimeBucket, fbRatingsBucket, s.opts.Now().Add(-s.opts.Retention)},
	} {
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			limit := timeKey(p.before, nil)
			n := 0
			err := s.db.bolt.Update(func(tx *bolt.Tx) error {
				ib := tx.Bucket(p.index)
				if ib == nil {
					return nil
				}
				var due [][]byte
				c := ib.Cursor()
				for k, _ := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0 && len(due) < sweepBatch; k, _ = c.Next() {
					due = append(due, bytes.Clone(k))
				}
				db := tx.Bucket(p.data)
				for _, k := range due {
					if err := ib.Delete(k); err != nil {
						return err
					}
					if db != nil {
						if err := db.Delete(k[8:]); err != nil {
							return err
						}
					}
				}
				n = len(due)
				return nil
			})
			total += n
			if err != nil {
				return total, fmt.Errorf("sweeping feedback: %w", err)
			}
			if n < sweepBatch {
				break
			}
		}
	}
	return total, nil
}
