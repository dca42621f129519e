package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/feedback"
)

// The feedback store's keys:
//
//	cato:feedback:answer:TENANT:ID          string: JSON answer, expiring after AnswerTTL
//	{cato:feedback}:rating:TENANT:ID:USER   hash: doc (JSON rating), ckey and cfield
//	                                        (the count it added to), expiring after Retention
//	{cato:feedback}:count:MINUTE            hash: "side US model US verdict" → ratings
//	                                        given in that Unix minute, expiring after Retention
//
// Answers are written on every request, so they spread over the cluster;
// ratings and counts share one hash slot ({…} tag), so that rateScript
// moves a replaced rating's count atomically. Counts are by the minute:
// Counts(since, until) reads whole minutes, from since's minute through
// the one before until's (or until's own, when until is not on a minute).

// rateScript stores a rating and moves its count: the user's earlier
// rating of the answer, if any, is taken off the count it added to.
// KEYS: rating, count. ARGV: doc, count field, retention ms.
// Returns 1 when a rating was replaced.
var rateScript = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], 'ckey', 'cfield')
if old[1] and redis.call('EXISTS', old[1]) == 1 then
  redis.call('HINCRBY', old[1], old[2], -1)
end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'ckey', KEYS[2], 'cfield', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if old[1] then return 1 end
return 0
`)

// FeedbackStore is the Redis feedback.Store. It is safe for concurrent
// use, also by replicas sharing the server.
type FeedbackStore struct {
	c    *Client
	opts feedback.StoreOptions
}

var _ feedback.Store = (*FeedbackStore)(nil)

// NewFeedbackStore returns the feedback store of c.
func NewFeedbackStore(c *Client, o feedback.StoreOptions) *FeedbackStore {
	return &FeedbackStore{c: c, opts: o.WithDefaults()}
}

type answerDoc struct {
	Side    string `json:"side"`
	Model   string `json:"model"`
	Route   string `json:"route"`
	Cached  bool   `json:"cached,omitempty"`
	At      int64  `json:"at"`      // Unix ms
	Expires int64  `json:"expires"` // Unix ms, in the store's clock
}

type ratingDoc struct {
	Rating  int              `json:"rating"`
	Scale   feedback.Scale   `json:"scale"`
	Verdict feedback.Verdict `json:"verdict"`
	Comment string           `json:"comment,omitempty"`
	At      int64            `json:"at"`
	Answer  answerDoc        `json:"answer"`
}

func (s *FeedbackStore) answerKey(tenant, id string) string {
	return s.c.Key("feedback", "answer", tenant, id)
}

func (s *FeedbackStore) slot() string { return "{" + s.c.Key("feedback") + "}" }

func (s *FeedbackStore) ratingKey(r feedback.Rating) string {
	return s.slot() + ":rating:" + url.QueryEscape(r.Tenant) + ":" + url.QueryEscape(r.RequestID) + ":" + url.QueryEscape(r.User)
}

func (s *FeedbackStore) countKey(minute int64) string {
	return s.slot() + ":count:" + strconv.FormatInt(minute, 10)
}

// countSep separates the parts of a count field; Validate keeps it out of
// models and sides.
const countSep = "\x1f"

func (s *FeedbackStore) Remember(ctx context.Context, answers ...feedback.Answer) error {
	for _, a := range answers {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	if len(answers) == 0 {
		return nil
	}
	now := s.opts.Now()
	expires := now.Add(s.opts.AnswerTTL).UnixMilli()
	pipe := s.c.rdb.Pipeline()
	for _, a := range answers {
		v, err := json.Marshal(answerDoc{Side: a.Side, Model: a.Model, Route: a.Route, Cached: a.Cached, At: a.At.UnixMilli(), Expires: expires})
		if err != nil {
			return err
		}
		pipe.Set(ctx, s.answerKey(a.Tenant, a.RequestID), v, s.opts.AnswerTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("remembering answers: %w", err)
	}
	return nil
}

func (s *FeedbackStore) Rate(ctx context.Context, r feedback.Rating) (feedback.Rated, error) {
	if err := r.Validate(); err != nil {
		return feedback.Rated{}, err
	}
	now := s.opts.Now()
	v, err := s.c.rdb.Get(ctx, s.answerKey(r.Tenant, r.RequestID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return feedback.Rated{}, feedback.ErrUnknownRequest
	}
	if err != nil {
		return feedback.Rated{}, fmt.Errorf("reading answer record: %w", err)
	}
	var ans answerDoc
	if err := json.Unmarshal(v, &ans); err != nil {
		return feedback.Rated{}, fmt.Errorf("decoding answer record: %w", err)
	}
	if ans.Expires <= now.UnixMilli() {
		return feedback.Rated{}, feedback.ErrUnknownRequest
	}
	doc, err := json.Marshal(ratingDoc{Rating: r.Rating, Scale: r.Scale, Verdict: r.Verdict, Comment: r.Comment, At: now.UnixMilli(), Answer: ans})
	if err != nil {
		return feedback.Rated{}, err
	}
	field := ans.Side + countSep + ans.Model + countSep + string(r.Verdict)
	minute := now.Unix() / 60
	replaced, err := rateScript.Run(ctx, s.c.rdb, []string{s.ratingKey(r), s.countKey(minute)},
		doc, field, s.opts.Retention.Milliseconds()).Int()
	if err != nil {
		return feedback.Rated{}, fmt.Errorf("rating answer: %w", err)
	}
	r.At = now
	r.Answer = feedback.Answer{Tenant: r.Tenant, RequestID: r.RequestID, Side: ans.Side, Model: ans.Model, Route: ans.Route, Cached: ans.Cached, At: time.UnixMilli(ans.At)}
	return feedback.Rated{Rating: r, Replaced: replaced == 1}, nil
}

func (s *FeedbackStore) Counts(ctx context.Context, since, until time.Time) ([]feedback.Count, error) {
	if oldest := s.opts.Now().Add(-s.opts.Retention); since.Before(oldest) {
		since = oldest // nothing older is kept
	}
	first := floorDiv(since.Unix(), 60)
	last := floorDiv(until.Add(-time.Nanosecond).Unix(), 60)
	if last < first {
		return nil, nil
	}
	pipe := s.c.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, last-first+1)
	for m := first; m <= last; m++ {
		cmds = append(cmds, pipe.HGetAll(ctx, s.countKey(m)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("counting ratings: %w", err)
	}
	sums := map[string]int64{}
	for _, cmd := range cmds {
		for field, v := range cmd.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("counting ratings: count %q: %w", v, err)
			}
			sums[field] += n
		}
	}
	out := make([]feedback.Count, 0, len(sums))
	for field, n := range sums {
		parts := strings.Split(field, countSep)
		if len(parts) != 3 || n <= 0 {
			continue
		}
		out = append(out, feedback.Count{Side: parts[0], Model: parts[1], Verdict: feedback.Verdict(parts[2]), N: uint64(n)})
	}
	return out, nil
}

// floorDiv divides rounding down, for times before 1970 too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Sweep returns 0: Redis expires answers, ratings and counts itself.
func (s *FeedbackStore) Sweep(context.Context) (int, error) { return 0, nil }
