package dynamostore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/rollout"
)

// The rollout flag is one item, pk "rollout", sk "flag":
//
//	ver   the current version
//	cur   the current flag, JSON without its version
//	hist  list of "VERSION|JSON", newest first, capped at
//	      rollout.HistoryLimit
//
// Set reads the item and writes it back conditioned on the version it
// read (optimistic versioning): of two replicas setting at once, one
// retries on the other's version, so versions never repeat or skip.
// Then it raises the version in a small item of its own, sk "ver", that
// Watch polls: reading the flag item itself would bill its history (up
// to 20 KB) on every poll. A Set whose process dies between the two
// writes notifies nobody; rollout.Poller's own poll of Get still applies
// it within a second.

var (
	flagKey    = key("rollout", "flag")
	flagVerKey = key("rollout", "ver")
)

// flagPoll is how often Watch reads the flag's version: a change reaches
// every replica within flagPoll plus a round trip, inside the 2 s the
// rollout allows.
const flagPoll = 500 * time.Millisecond

// FlagStore is the DynamoDB rollout.FlagStore, shared by every replica on
// the table. It is safe for concurrent use.
type FlagStore struct {
	db   *DB
	poll time.Duration
}

var _ rollout.FlagStore = (*FlagStore)(nil)

// NewFlagStore returns the rollout flag store of db.
func NewFlagStore(db *DB) *FlagStore { return &FlagStore{db: db, poll: flagPoll} }

// flagRecord is a Flag as stored, without its version.
type flagRecord struct {
	Percentage float64        `json:"percentage"`
	Source     rollout.Source `json:"source"`
	Actor      string         `json:"actor,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	At         time.Time      `json:"at"`
	Ref        string         `json:"ref,omitempty"`
}

func decodeFlag(v int64, js string) (rollout.Flag, error) {
	var r flagRecord
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		return rollout.Flag{}, fmt.Errorf("rollout entry %d: %w", v, err)
	}
	return rollout.Flag{Percentage: r.Percentage, Version: v, Source: r.Source, Actor: r.Actor, Reason: r.Reason, At: r.At, Ref: r.Ref}, nil
}

func (s *FlagStore) read(ctx context.Context) (map[string]types.AttributeValue, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: flagKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// Get implements rollout.FlagStore.
func (s *FlagStore) Get(ctx context.Context) (rollout.Flag, error) {
	item, err := s.read(ctx)
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	if len(item) == 0 {
		return rollout.Flag{}, rollout.ErrNoFlag
	}
	f, err := decodeFlag(getN(item, "ver"), getS(item, "cur"))
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	return f, nil
}

// Set implements rollout.FlagStore with a conditional write, read again and
// retried while other replicas set the flag first.
func (s *FlagStore) Set(ctx context.Context, f rollout.Flag) (rollout.Flag, error) {
	if f.At.IsZero() {
		f.At = time.Now()
	}
	f.At = f.At.Round(0)
	js, err := json.Marshal(flagRecord{Percentage: f.Percentage, Source: f.Source, Actor: f.Actor, Reason: f.Reason, At: f.At, Ref: f.Ref})
	if err != nil {
		return rollout.Flag{}, err
	}
	for attempt := 0; ; attempt++ {
		item, err := s.read(ctx)
		if err != nil {
			return rollout.Flag{}, fmt.Errorf("storing rollout flag: %w", err)
		}
		v := getN(item, "ver")
		hist := []types.AttributeValue{str(strconv.FormatInt(v+1, 10) + "|" + string(js))}
		if l, ok := item["hist"].(*types.AttributeValueMemberL); ok {
			hist = append(hist, l.Value[:min(len(l.Value), rollout.HistoryLimit-1)]...)
		}
		next := key("rollout", "flag")
		next["ver"] = n(v + 1)
		next["cur"] = str(string(js))
		next["hist"] = &types.AttributeValueMemberL{Value: hist}
		_, err = s.db.c.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: s.db.table, Item: next,
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR ver = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(v)},
		})
		if err == nil {
			f.Version = v + 1
			s.notify(ctx, f.Version)
			return f, nil
		}
		if !conditionFailed(err) {
			return rollout.Flag{}, fmt.Errorf("storing rollout flag: %w", err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return rollout.Flag{}, fmt.Errorf("storing rollout flag: %w", err)
		}
	}
}

// notify raises the version that Watch polls to v.
func (s *FlagStore) notify(ctx context.Context, v int64) {
	_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: flagVerKey,
		UpdateExpression:          aws.String("SET ver = :v"),
		ConditionExpression:       aws.String("attribute_not_exists(ver) OR ver < :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(v)},
	})
	if err != nil && !conditionFailed(err) {
		s.db.log.Warn("rollout: notifying watchers failed; they see the change at their next poll", slog.Any("err", err))
	}
}

// backoff is the pause before the attempt-th retry of a conditional write
// that lost a race: jittered, from 5 ms up to 200 ms.
func backoff(attempt int) time.Duration {
	d := 5 * time.Millisecond << min(attempt, 5)
	return min(d, 200*time.Millisecond)/2 + rand.N(min(d, 200*time.Millisecond)/2+1)
}

// History implements rollout.FlagStore.
func (s *FlagStore) History(ctx context.Context, limit int) ([]rollout.Flag, error) {
	item, err := s.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading rollout history: %w", err)
	}
	l, _ := item["hist"].(*types.AttributeValueMemberL)
	if l == nil {
		return []rollout.Flag{}, nil
	}
	entries := l.Value
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	out := make([]rollout.Flag, 0, len(entries))
	for _, e := range entries {
		sv, _ := e.(*types.AttributeValueMemberS)
		if sv == nil {
			return nil, fmt.Errorf("reading rollout history: entry is not a string")
		}
		vText, js, ok := strings.Cut(sv.Value, "|")
		v, err := strconv.ParseInt(vText, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("reading rollout history: malformed entry %.40q", sv.Value)
		}
		f, err := decodeFlag(v, js)
		if err != nil {
			return nil, fmt.Errorf("reading rollout history: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Watch implements rollout.FlagStore by reading the version item every
// flagPoll (one strongly consistent read of a small item: 1 read unit,
// 2 a second per watching replica). The channel receives
// a value when the version changed; it is closed when ctx is done or a
// read fails, and Poller subscribes again.
func (s *FlagStore) Watch(ctx context.Context) (<-chan struct{}, error) {
	version := func() (int64, error) {
		gctx, cancel := context.WithTimeout(ctx, pollTimeout)
		defer cancel()
		out, err := s.db.c.GetItem(gctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: flagVerKey, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return 0, err
		}
		return getN(out.Item, "ver"), nil
	}
	last, err := version()
	if err != nil {
		return nil, fmt.Errorf("watching rollout flag: %w", err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		t := time.NewTicker(s.poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, err := version()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.db.log.Warn("rollout flag watch failed; polling until it is back", slog.Any("err", err))
				return
			}
			if v != last {
				last = v
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, nil
}
