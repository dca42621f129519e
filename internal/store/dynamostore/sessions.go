package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/session"
)

// A session is one item, pk s#TENANT#ID, sk "s":
//
//	turns    list of JSON turns not yet folded, oldest first; the i-th
//	         (from 0) has Seq through+i+1
//	seq      the last Seq given
//	through  the Seq the summary ends at
//	summary  the summary
//	updated  when a turn was last appended (Unix ms)
//	expires  when the session expires (Unix ms, the store's clock)
//	ttl      expires in Unix seconds, for the table's time to live
//
// Append is one UpdateItem (list_append and ADD, conditioned on the session
// not having expired), so concurrent Appends from any replica serialise on
// the item; Fold removes the folded turns in one UpdateItem conditioned on
// the summary it was planned on. A session's unfolded turns share the
// item's 400 KB: working memory folds long before that.

// SessionStore is the DynamoDB session.Store. Expired sessions read as
// missing and are deleted when met (and by the table's time to live where
// the server has one). It is safe for concurrent use, also by replicas.
type SessionStore struct {
	db   *DB
	opts session.StoreOptions
}

var _ session.Store = (*SessionStore)(nil)

// NewSessionStore returns the session store of db.
func NewSessionStore(db *DB, o session.StoreOptions) *SessionStore {
	return &SessionStore{db: db, opts: o.WithDefaults()}
}

type turnRecord struct {
	Role    string    `json:"role"`
	Content string    `json:"content"`
	Model   string    `json:"model,omitempty"`
	Tokens  int       `json:"tokens,omitempty"`
	At      time.Time `json:"at"`
}

func sessionKey(k session.Key) map[string]types.AttributeValue {
	return key("s#"+part(k.Tenant)+"#"+part(k.ID), "s")
}

// Load reads the session with a strongly consistent read.
func (s *SessionStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	item, err := s.get(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("loading session: %w", err)
	}
	if item == nil {
		return nil, session.ErrNotFound
	}
	out := &session.Session{Key: k, Summary: getS(item, "summary"), SummaryThrough: getN(item, "through"),
		UpdatedAt: time.UnixMilli(getN(item, "updated"))}
	turns, _ := item["turns"].(*types.AttributeValueMemberL)
	if turns != nil {
		for i, v := range turns.Value {
			sv, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return nil, fmt.Errorf("loading session: turn %d is not a string", i)
			}
			var t turnRecord
			if err := json.Unmarshal([]byte(sv.Value), &t); err != nil {
				return nil, fmt.Errorf("loading session: turn %d: %w", i, err)
			}
			out.Turns = append(out.Turns, session.Turn{Seq: out.SummaryThrough + int64(i) + 1,
				Role: t.Role, Content: t.Content, Model: t.Model, Tokens: t.Tokens, At: t.At})
		}
	}
	return out, nil
}

// get returns the live item of k, or nil; an expired one is deleted.
func (s *SessionStore) get(ctx context.Context, k session.Key) (map[string]types.AttributeValue, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: sessionKey(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	now := s.opts.Now().UnixMilli()
	if getN(out.Item, "expires") <= now {
		s.dropExpired(ctx, k, now)
		return nil, nil
	}
	return out.Item, nil
}

// dropExpired deletes k's item if it is still expired at now.
func (s *SessionStore) dropExpired(ctx context.Context, k session.Key, now int64) {
	_, err := s.db.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: s.db.table, Key: sessionKey(k),
		ConditionExpression:       aws.String("expires <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now)},
	})
	if err != nil && !conditionFailed(err) {
		s.db.log.Debug("dynamodb: deleting an expired session", "err", err)
	}
}

// Append adds turns with one conditional UpdateItem, or, when the session
// has expired, replaces it with a new one.
func (s *SessionStore) Append(ctx context.Context, k session.Key, turns ...session.Turn) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if len(turns) == 0 {
		return nil
	}
	list := make([]types.AttributeValue, len(turns))
	for i, t := range turns {
		js, err := json.Marshal(turnRecord{Role: t.Role, Content: t.Content, Model: t.Model, Tokens: t.Tokens, At: t.At})
		if err != nil {
			return err
		}
		list[i] = str(string(js))
	}
	for {
		now := s.opts.Now()
		exp := now.Add(s.opts.TTL)
		_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                s.db.table,
			Key:                      sessionKey(k),
			UpdateExpression:         aws.String("SET turns = list_append(if_not_exists(turns, :empty), :new), updated = :now, expires = :exp, #ttl = :ttl, through = if_not_exists(through, :zero) ADD seq :n"),
			ConditionExpression:      aws.String("attribute_not_exists(pk) OR expires > :now"),
			ExpressionAttributeNames: map[string]string{"#ttl": attrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
				":new":   &types.AttributeValueMemberL{Value: list},
				":now":   n(now.UnixMilli()), ":exp": n(exp.UnixMilli()), ":ttl": ttlOf(exp),
				":zero": n(0), ":n": n(int64(len(turns))),
			},
		})
		if err == nil {
			return nil
		}
		if !conditionFailed(err) {
			return fmt.Errorf("appending to session: %w", err)
		}
		// Expired: start afresh, unless another writer did meanwhile.
		item := sessionKey(k)
		item["turns"] = &types.AttributeValueMemberL{Value: list}
		item["seq"] = n(int64(len(turns)))
		item["through"] = n(0)
		item["updated"] = n(now.UnixMilli())
		item["expires"] = n(exp.UnixMilli())
		item[attrTTL] = ttlOf(exp)
		_, err = s.db.c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: s.db.table, Item: item,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.UnixMilli())},
		})
		if err == nil {
			return nil
		}
		if !conditionFailed(err) {
			return fmt.Errorf("appending to session: %w", err)
		}
	}
}

// Fold removes the folded turns and sets the summary in one UpdateItem
// conditioned on the summary f was planned on; when the condition fails it
// reads the session to say why.
func (s *SessionStore) Fold(ctx context.Context, k session.Key, f session.Fold) error {
	if err := k.Validate(); err != nil {
		return err
	}
	for {
		if f.Through > f.From && f.Through-f.From <= maxFoldRemove {
			// Highest index first: DynamoDB resolves every path on the
			// item as it was, dynalite one after the other.
			var rm strings.Builder
			for i := f.Through - f.From - 1; i >= 0; i-- {
				fmt.Fprintf(&rm, "turns[%d]", i)
				if i > 0 {
					rm.WriteString(", ")
				}
			}
			_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:           s.db.table,
				Key:                 sessionKey(k),
				UpdateExpression:    aws.String("SET through = :through, summary = :sum REMOVE " + rm.String()),
				ConditionExpression: aws.String("attribute_exists(pk) AND expires > :now AND through = :from AND seq >= :through"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":through": n(f.Through), ":from": n(f.From), ":sum": str(f.Summary), ":now": n(s.opts.Now().UnixMilli()),
				},
			})
			if err == nil {
				return nil
			}
			if !conditionFailed(err) {
				return fmt.Errorf("folding session: %w", err)
			}
		}
		item, err := s.get(ctx, k)
		if err != nil {
			return fmt.Errorf("folding session: %w", err)
		}
		if item == nil {
			return session.ErrNotFound
		}
		if err := session.CheckFold(f, getN(item, "through"), getN(item, "seq")); err != nil {
			return err
		}
		if f.Through-f.From > maxFoldRemove {
			done, err := s.rewriteFold(ctx, item, f)
			if err != nil || done {
				return err
			}
		}
		// The session changed between the write and the read in a way
		// that lets f apply now: try again.
	}
}

// maxFoldRemove is the most turns Fold removes with REMOVE paths: 250
// paths fit DynamoDB's 4 KB expression limit.
const maxFoldRemove = 250

// rewriteFold folds more turns than one expression can remove: it writes
// the item back without them, conditioned on the summary and the last Seq
// it read (an Append meanwhile makes it try again).
func (s *SessionStore) rewriteFold(ctx context.Context, item map[string]types.AttributeValue, f session.Fold) (bool, error) {
	turns, _ := item["turns"].(*types.AttributeValueMemberL)
	k := int(f.Through - f.From)
	if turns == nil || len(turns.Value) < k {
		return false, nil
	}
	next := make(map[string]types.AttributeValue, len(item))
	for name, v := range item {
		next[name] = v
	}
	next["turns"] = &types.AttributeValueMemberL{Value: turns.Value[k:]}
	next["through"] = n(f.Through)
	next["summary"] = str(f.Summary)
	_, err := s.db.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.db.table, Item: next,
		ConditionExpression: aws.String("through = :from AND seq = :seq AND expires > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":from": n(f.From), ":seq": n(getN(item, "seq")), ":now": n(s.opts.Now().UnixMilli()),
		},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("folding session: %w", err)
	}
	return true, nil
}

// Delete removes the session's item.
func (s *SessionStore) Delete(ctx context.Context, k session.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if _, err := s.db.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.db.table, Key: sessionKey(k)}); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}
