package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/memory"
)

// The memory queue: pk "mq", sk a time-ordered ID (so a query returns the
// oldest first), with
//
//	item   the interaction, JSON
//	enq    when it was enqueued (Unix ms)
//	lease  when its lease ends (Unix ms); 0 until claimed
//	att    how many times it was delivered
//
// Claim queries the items whose lease ended (FilterExpression) and takes
// each with an UpdateItem conditioned on the lease it read, so that two
// consumers never take one item; Ack deletes. A Claim that finds nothing
// polls again, from 50 ms to claimPollMax apart, until its wait is over.
// All interactions queue in one partition, whose throughput DynamoDB
// caps at 1,000 writes a second: about 300 interactions a second
// (enqueue, claim, ack).

const queuePK = "mq"

// claimPollMax is the longest pause between two polls of a waiting Claim.
const claimPollMax = 500 * time.Millisecond

// queueIDs makes sort keys that increase within the process: the time in
// nanoseconds (never the same twice) and random bytes, which order items
// of different replicas by their clocks.
type queueIDs struct {
	mu   sync.Mutex // guards last
	last int64
}

func (q *queueIDs) next(now time.Time) string {
	q.mu.Lock()
	t := max(now.UnixNano(), q.last+1)
	q.last = t
	q.mu.Unlock()
	var r [4]byte
	rand.Read(r[:])
	return fmt.Sprintf("%020d-%s", t, hex.EncodeToString(r[:]))
}

// Enqueue writes items with BatchWriteItem, 25 per request, in order.
func (s *MemoryStore) Enqueue(ctx context.Context, items []memory.Interaction) error {
	now := s.opts.Now()
	reqs := make([]types.WriteRequest, 0, len(items))
	for i := range items {
		js, err := json.Marshal(&items[i])
		if err != nil {
			return err
		}
		it := key(queuePK, s.ids.next(now))
		it["item"], it["enq"], it["lease"], it["att"] = str(string(js)), n(now.UnixMilli()), n(0), n(0)
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	for len(reqs) > 0 {
		chunk := reqs[:min(25, len(reqs))]
		reqs = reqs[len(chunk):]
		for wait := 10 * time.Millisecond; len(chunk) > 0; wait = min(2*wait, time.Second) {
			out, err := s.db.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{*s.db.table: chunk}})
			if err != nil {
				return fmt.Errorf("enqueueing interactions: %w", err)
			}
			chunk = out.UnprocessedItems[*s.db.table]
			if len(chunk) > 0 {
				if err := sleep(ctx, wait); err != nil {
					return fmt.Errorf("enqueueing interactions: %w", err)
				}
			}
		}
	}
	return nil
}

// Claim takes up to limit interactions whose lease ended (or that were
// never claimed), oldest first, polling until wait is over when there
// are none.
func (s *MemoryStore) Claim(ctx context.Context, consumer string, limit int, wait time.Duration) ([]memory.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	deadline := time.Now().Add(wait)
	pause := 50 * time.Millisecond
	for {
		out, err := s.claimOnce(ctx, consumer, limit)
		if err != nil || len(out) > 0 {
			return out, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if err := sleep(ctx, min(pause, left)); err != nil {
			return nil, nil
		}
		pause = min(2*pause, claimPollMax)
	}
}

func (s *MemoryStore) claimOnce(ctx context.Context, consumer string, limit int) ([]memory.Delivery, error) {
	now := s.opts.Now()
	var cands []map[string]types.AttributeValue
	in := &dynamodb.QueryInput{
		TableName:                 s.db.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		FilterExpression:          aws.String("lease <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(queuePK), ":now": n(now.UnixMilli())},
		ConsistentRead:            aws.Bool(true),
	}
	p := dynamodb.NewQueryPaginator(s.db.c, in)
	for p.HasMorePages() && len(cands) < limit {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("claiming interactions: %w", err)
		}
		cands = append(cands, page.Items...)
	}
	var out []memory.Delivery
	until := now.Add(s.opts.Lease).UnixMilli()
	for _, c := range cands {
		if len(out) == limit {
			break
		}
		sk := getS(c, attrSK)
		res, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: s.db.table, Key: key(queuePK, sk),
			UpdateExpression:         aws.String("SET lease = :until, #by = :by ADD att :one"),
			ConditionExpression:      aws.String("lease = :old"),
			ExpressionAttributeNames: map[string]string{"#by": "by"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":until": n(until), ":by": str(consumer), ":one": n(1), ":old": n(getN(c, "lease")),
			},
			ReturnValues: types.ReturnValueAllNew,
		})
		if conditionFailed(err) {
			continue // another consumer took it, or it was acknowledged
		}
		if err != nil {
			return out, fmt.Errorf("claiming interactions: %w", err)
		}
		d := memory.Delivery{Attempt: int(getN(res.Attributes, "att")), Receipt: sk}
		if err := json.Unmarshal([]byte(getS(res.Attributes, "item")), &d.Interaction); err != nil {
			// Unreadable: drop it rather than deliver it forever.
			s.Ack(ctx, []memory.Delivery{d})
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// Ack deletes the deliveries' items.
func (s *MemoryStore) Ack(ctx context.Context, ds []memory.Delivery) error {
	keys := make([]map[string]types.AttributeValue, len(ds))
	for i, d := range ds {
		keys[i] = key(queuePK, d.Receipt)
	}
	if err := s.db.batchDelete(ctx, keys); err != nil {
		return fmt.Errorf("acknowledging interactions: %w", err)
	}
	return nil
}

// Stats reads the whole queue's keys, leases and times.
func (s *MemoryStore) Stats(ctx context.Context) (memory.QueueStats, error) {
	var st memory.QueueStats
	now := s.opts.Now().UnixMilli()
	err := s.db.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(queuePK)},
		ProjectionExpression:      aws.String("lease, enq"),
		ConsistentRead:            aws.Bool(true),
	}, func(it map[string]types.AttributeValue) error {
		if st.Depth == 0 {
			st.Oldest = time.UnixMilli(getN(it, "enq"))
		}
		st.Depth++
		if getN(it, "lease") > now {
			st.InFlight++
		}
		return nil
	})
	if err != nil {
		return memory.QueueStats{}, fmt.Errorf("reading queue stats: %w", err)
	}
	return st, nil
}
