package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/feedback"
)

// Feedback is these items:
//
//	pk                 sk                     what
//	f#TENANT#REQUEST   a                      a remembered answer: doc (JSON),
//	                                          expires (Unix ms), ttl
//	f#TENANT#REQUEST   r#USER                 the user's rating of it: doc
//	                                          (JSON, with the answer), ver, ttl
//	fc                 MINUTE#SIDE#MODEL#V    ratings given in that minute
//	                                          (UTC, 200601021504) to answers of
//	                                          side and model with verdict V: n,
//	                                          and ops, the changes applied
//
// Answers, written on every request, spread over a partition each.
// Counts live in one partition, by minute, so that Counts is one Query
// over the minutes asked for; ratings come from people, far below the
// 1,000 writes a second a partition takes.
//
// Rate is one PutItem of the rating, which returns the rating it
// replaced: DynamoDB orders the writes of one item, so each version of a
// user's rating learns the one before it. It then moves the count: +1 for
// the new version, and, for the replaced one, +1 and -1. Each change is
// an UpdateItem ADD conditioned on the change (named by sign and the
// version's random id, ver) not being in the count's ops yet, which adds
// it there. Additions commute and each applies once, so concurrent
// ratings of one answer by one user, a Rate retried after an error, and
// a rating whose process died before it was counted (counted by the +1
// the next version applies for it) all leave exactly the latest version
// counted. A rating whose process died before counting it, and that is
// never replaced, is not counted.

const feedbackCountsPK = "fc"

// minuteLayout names a count's minute in its sort key.
const minuteLayout = "200601021504"

// FeedbackStore is the DynamoDB feedback.Store. It is safe for concurrent
// use, also by replicas sharing the table.
type FeedbackStore struct {
	db   *DB
	opts feedback.StoreOptions
}

var _ feedback.Store = (*FeedbackStore)(nil)

// NewFeedbackStore returns the feedback store of db.
func NewFeedbackStore(db *DB, o feedback.StoreOptions) *FeedbackStore {
	return &FeedbackStore{db: db, opts: o.WithDefaults()}
}

type answerDoc struct {
	Side   string `json:"side"`
	Model  string `json:"model"`
	Route  string `json:"route"`
	Cached bool   `json:"cached,omitempty"`
	At     int64  `json:"at"` // Unix ms
}

type ratingDoc struct {
	Rating  int              `json:"rating"`
	Scale   feedback.Scale   `json:"scale"`
	Verdict feedback.Verdict `json:"verdict"`
	Comment string           `json:"comment,omitempty"`
	At      int64            `json:"at"` // Unix ms
	Answer  answerDoc        `json:"answer"`
}

func feedbackPK(tenant, requestID string) string {
	return "f#" + part(tenant) + "#" + part(requestID)
}

func answerKey(tenant, requestID string) map[string]types.AttributeValue {
	return key(feedbackPK(tenant, requestID), "a")
}

func ratingKey(r feedback.Rating) map[string]types.AttributeValue {
	return key(feedbackPK(r.Tenant, r.RequestID), "r#"+part(r.User))
}

// countSK is the sort key of the count of d's minute, side, model and
// verdict.
func countSK(d ratingDoc) string {
	return time.UnixMilli(d.At).UTC().Format(minuteLayout) + "#" + part(d.Answer.Side) + "#" + part(d.Answer.Model) + "#" + part(string(d.Verdict))
}

// Remember writes the answers with BatchWriteItem, 25 per request; of
// answers with one request id, the last wins.
func (s *FeedbackStore) Remember(ctx context.Context, answers ...feedback.Answer) error {
	for _, a := range answers {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	if len(answers) == 0 {
		return nil
	}
	// A batch may not write an item twice.
	type id struct{ tenant, request string }
	last := make(map[id]int, len(answers))
	for i, a := range answers {
		last[id{a.Tenant, a.RequestID}] = i
	}
	expires := s.opts.Now().Add(s.opts.AnswerTTL)
	reqs := make([]types.WriteRequest, 0, len(last))
	for i, a := range answers {
		if last[id{a.Tenant, a.RequestID}] != i {
			continue
		}
		doc, err := json.Marshal(answerDoc{Side: a.Side, Model: a.Model, Route: a.Route, Cached: a.Cached, At: a.At.UnixMilli()})
		if err != nil {
			return err
		}
		it := answerKey(a.Tenant, a.RequestID)
		it["doc"], it["expires"], it[attrTTL] = str(string(doc)), n(expires.UnixMilli()), ttlOf(expires)
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	if err := s.db.batchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("remembering answers: %w", err)
	}
	return nil
}

// Rate reads the answer, stores the rating and moves its count.
func (s *FeedbackStore) Rate(ctx context.Context, r feedback.Rating) (feedback.Rated, error) {
	if err := r.Validate(); err != nil {
		return feedback.Rated{}, err
	}
	now := s.opts.Now()
	got, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: answerKey(r.Tenant, r.RequestID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return feedback.Rated{}, fmt.Errorf("reading answer record: %w", err)
	}
	if len(got.Item) == 0 || getN(got.Item, "expires") <= now.UnixMilli() {
		return feedback.Rated{}, feedback.ErrUnknownRequest
	}
	var ans answerDoc
	if err := json.Unmarshal([]byte(getS(got.Item, "doc")), &ans); err != nil {
		return feedback.Rated{}, fmt.Errorf("decoding answer record: %w", err)
	}
	d := ratingDoc{Rating: r.Rating, Scale: r.Scale, Verdict: r.Verdict, Comment: r.Comment, At: now.UnixMilli(), Answer: ans}
	doc, err := json.Marshal(d)
	if err != nil {
		return feedback.Rated{}, err
	}
	ver := newVersion()
	it := ratingKey(r)
	it["doc"], it["ver"], it[attrTTL] = str(string(doc)), str(ver), ttlOf(now.Add(s.opts.Retention))
	put, err := s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: it, ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return feedback.Rated{}, fmt.Errorf("rating answer: %w", err)
	}
	if err := s.count(ctx, d, "+"+ver, 1); err != nil {
		return feedback.Rated{}, err
	}
	replaced := len(put.Attributes) > 0
	if replaced {
		var old ratingDoc
		oldVer := getS(put.Attributes, "ver")
		if err := json.Unmarshal([]byte(getS(put.Attributes, "doc")), &old); err != nil || oldVer == "" {
			s.db.log.Warn("dynamodb: a replaced rating could not be read; its count stays", "err", err)
		} else {
			// The replaced version's +1 is applied already unless its
			// writer died first: applying it again is a no-op then.
			if err := s.count(ctx, old, "+"+oldVer, 1); err != nil {
				return feedback.Rated{}, err
			}
			if err := s.count(ctx, old, "-"+oldVer, -1); err != nil {
				return feedback.Rated{}, err
			}
		}
	}
	r.At = now
	r.Answer = feedback.Answer{Tenant: r.Tenant, RequestID: r.RequestID, Side: ans.Side, Model: ans.Model, Route: ans.Route, Cached: ans.Cached, At: time.UnixMilli(ans.At)}
	return feedback.Rated{Rating: r, Replaced: replaced}, nil
}

// newVersion returns a random id for a version of a rating.
func newVersion() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// count adds delta to d's count unless the change op was added before,
// with one conditional UpdateItem.
func (s *FeedbackStore) count(ctx context.Context, d ratingDoc, op string, delta int64) error {
	minute := time.UnixMilli(d.At).Truncate(time.Minute)
	_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: key(feedbackCountsPK, countSK(d)),
		UpdateExpression:         aws.String("ADD n :d, ops :ops SET #side = :side, #model = :model, #verdict = :verdict, #ttl = :ttl"),
		ConditionExpression:      aws.String("NOT contains(ops, :op)"),
		ExpressionAttributeNames: map[string]string{"#side": "side", "#model": "model", "#verdict": "verdict", "#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":d": n(delta), ":op": str(op), ":ops": &types.AttributeValueMemberSS{Value: []string{op}},
			":side": str(d.Answer.Side), ":model": str(d.Answer.Model), ":verdict": str(string(d.Verdict)),
			":ttl": ttlOf(minute.Add(time.Minute + s.opts.Retention)),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("counting rating: %w", err)
	}
	return nil
}

// Counts queries the counts of the minutes from since's through the one
// before until's (or until's own, when until is not on a minute), no
// older than the retention.
func (s *FeedbackStore) Counts(ctx context.Context, since, until time.Time) ([]feedback.Count, error) {
	if oldest := s.opts.Now().Add(-s.opts.Retention); since.Before(oldest) {
		since = oldest // nothing older is kept
	}
	first := since.Truncate(time.Minute)
	last := until.Add(-time.Nanosecond).Truncate(time.Minute)
	if last.Before(first) {
		return nil, nil
	}
	type field struct {
		side, model string
		verdict     feedback.Verdict
	}
	sums := map[field]int64{}
	err := s.db.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(feedbackCountsPK),
			":lo": str(first.UTC().Format(minuteLayout)),
			// "$" sorts right after the "#" that ends a minute.
			":hi": str(last.UTC().Format(minuteLayout) + "$"),
		},
		ProjectionExpression:     aws.String("#side, #model, #verdict, n"),
		ExpressionAttributeNames: map[string]string{"#side": "side", "#model": "model", "#verdict": "verdict"},
		ConsistentRead:           aws.Bool(true),
	}, func(it map[string]types.AttributeValue) error {
		sums[field{getS(it, "side"), getS(it, "model"), feedback.Verdict(getS(it, "verdict"))}] += getN(it, "n")
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting ratings: %w", err)
	}
	out := make([]feedback.Count, 0, len(sums))
	for f, c := range sums {
		if c > 0 {
			out = append(out, feedback.Count{Side: f.side, Model: f.model, Verdict: f.verdict, N: uint64(c)})
		}
	}
	return out, nil
}

// Sweep returns 0: DynamoDB's time to live deletes answers, ratings and
// counts, and readers skip what expired before it did. (On a server
// without one, such as dynalite, they stay.)
func (s *FeedbackStore) Sweep(context.Context) (int, error) { return 0, nil }
