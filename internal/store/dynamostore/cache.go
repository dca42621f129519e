package dynamostore

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// Cache entries are spread over cacheShards partitions, pk c#SHARD (the
// shard is a hash of the ID), sk the ID:
//
//	t, m, am, sess  tenant, scope model, answering model, session id
//	exp             ExpiresAt in Unix ms, 0 for never
//	ttl             exp in Unix seconds, for the table's time to live
//	v               the entry (cachecodec)
//
// The change feed is a log in one partition, pk "cfeed": sk "seq" holds
// the last sequence number given (ADD 1 per change), and each change is
// an item whose sk is its number, zero-padded to 20 digits, holding the
// change (cachecodec) and a ttl an hour ahead. A write stores the entry,
// takes a number and appends its change. Watchers query the log past
// the last number they delivered every feedPoll, and deliver in number
// order: a number taken but not yet written holds back those after it
// for up to 3 s, after which the writer is taken for dead (or its
// change write failed), and the feed closes so that the cache lists
// again. Changes reach other replicas within feedPoll plus two round
// trips: about 250 ms.
//
// DeleteBySession and Purge query every shard with a filter: they read
// the whole cache (rare, administrative calls).

const (
	cacheShards = 16
	feedPK      = "cfeed"
	// feedPoll is how often a watcher reads the log.
	feedPoll = 200 * time.Millisecond
	// defaultGapWait is how long a missing change may hold the feed back.
	defaultGapWait = 3 * time.Second
	// feedKeep is how many changes stay in the log where the server has
	// no time to live: each write deletes the change feedKeep before it.
	feedKeep = 2000
	// feedLife is how long the server's time to live keeps a change.
	feedLife = time.Hour
	// pollTimeout bounds one poll of a change feed.
	pollTimeout = 5 * time.Second
	// feedBuffer is how many changes a watcher's channel holds.
	feedBuffer = 1024
)

var feedSeqKey = key(feedPK, "seq")

func feedSK(seq int64) string { return fmt.Sprintf("%020d", seq) }

// CacheStore is the DynamoDB cache.Store, shared by every replica on the
// table. Expired entries are skipped by List, deleted by it where the
// server has no time to live, and by the server where it has. It is safe
// for concurrent use.
type CacheStore struct {
	db   *DB
	now  func() time.Time
	poll time.Duration
	// gapWait is how long a missing change may hold the feed back.
	gapWait time.Duration
}

var _ cache.Store = (*CacheStore)(nil)

// NewCacheStore returns the cache store of db; now is its clock (nil:
// time.Now), which decides what List skips.
func NewCacheStore(db *DB, now func() time.Time) *CacheStore {
	if now == nil {
		now = time.Now
	}
	return &CacheStore{db: db, now: now, poll: feedPoll, gapWait: defaultGapWait}
}

func shardOf(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("c#%x", h.Sum32()%cacheShards)
}

func entryKey(id string) map[string]types.AttributeValue { return key(shardOf(id), id) }

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	if ms := t.UnixMilli(); ms > 0 {
		return ms
	}
	return 1 // before 1970: long expired, not "never"
}

// Put stores e, then appends its change to the feed.
func (s *CacheStore) Put(ctx context.Context, e cache.Entry) error {
	v, err := cachecodec.Marshal(e)
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	item := entryKey(e.ID)
	item["t"], item["m"], item["am"], item["sess"] = str(e.Scope.Tenant), str(e.Scope.Model), str(e.Model), str(e.SessionID)
	item["exp"] = n(unixMs(e.ExpiresAt))
	if !e.ExpiresAt.IsZero() {
		item[attrTTL] = ttlOf(e.ExpiresAt)
	}
	item["v"] = b(v)
	if _, err := s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: item}); err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	if err := s.announce(ctx, cache.Change{Op: cache.OpPut, Entry: e}); err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	return nil
}

// announce appends c to the feed.
func (s *CacheStore) announce(ctx context.Context, c cache.Change) error {
	msg, err := cachecodec.MarshalChange(c)
	if err != nil {
		return err
	}
	out, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: feedSeqKey,
		UpdateExpression:          aws.String("ADD seq :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return fmt.Errorf("numbering the change: %w", err)
	}
	seq := getN(out.Attributes, "seq")
	item := key(feedPK, feedSK(seq))
	item["c"] = b(msg)
	item[attrTTL] = ttlOf(s.now().Add(feedLife))
	if _, err := s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: item}); err != nil {
		return fmt.Errorf("announcing the change: %w", err)
	}
	if !s.db.nativeTTL && seq > feedKeep {
		_, err := s.db.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.db.table, Key: key(feedPK, feedSK(seq-feedKeep))})
		if err != nil {
			s.db.log.Debug("dynamodb: trimming the cache change feed", slog.Any("err", err))
		}
	}
	return nil
}

// Delete removes ids, one request each, and announces those that were
// there.
func (s *CacheStore) Delete(ctx context.Context, ids ...string) error {
	var gone []string
	for _, id := range ids {
		out, err := s.db.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: s.db.table, Key: entryKey(id), ReturnValues: types.ReturnValueAllOld})
		if err != nil {
			return fmt.Errorf("deleting cache entries: %w", err)
		}
		if len(out.Attributes) > 0 {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := s.announce(ctx, cache.Change{Op: cache.OpDelete, IDs: gone}); err != nil {
		return fmt.Errorf("deleting cache entries: %w", err)
	}
	return nil
}

// scan calls fn for every entry item that filter (with values) selects,
// shard by shard.
func (s *CacheStore) scan(ctx context.Context, filter string, values map[string]types.AttributeValue, fn func(map[string]types.AttributeValue) error) error {
	for shard := range cacheShards {
		vals := map[string]types.AttributeValue{":pk": str(fmt.Sprintf("c#%x", shard))}
		for k, v := range values {
			vals[k] = v
		}
		in := &dynamodb.QueryInput{
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: vals,
			ConsistentRead:            aws.Bool(true),
		}
		if filter != "" {
			in.FilterExpression = aws.String(filter)
		}
		if err := s.db.queryAll(ctx, in, fn); err != nil {
			return err
		}
	}
	return nil
}

// deleteMatching deletes the entries filter selects and returns their IDs.
func (s *CacheStore) deleteMatching(ctx context.Context, filter string, values map[string]types.AttributeValue) ([]string, error) {
	var ids []string
	var keys []map[string]types.AttributeValue
	err := s.scan(ctx, filter, values, func(it map[string]types.AttributeValue) error {
		id := getS(it, attrSK)
		ids = append(ids, id)
		keys = append(keys, entryKey(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.db.batchDelete(ctx, keys); err != nil {
		return nil, err
	}
	return ids, nil
}

// DeleteBySession removes the entries of session sessionID of tenant.
func (s *CacheStore) DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	ids, err := s.deleteMatching(ctx, "sess = :s AND t = :t", map[string]types.AttributeValue{":s": str(sessionID), ":t": str(tenant)})
	if err != nil {
		return nil, fmt.Errorf("deleting cache entries of session %s: %w", sessionID, err)
	}
	if len(ids) > 0 {
		if err := s.announce(ctx, cache.Change{Op: cache.OpDelete, IDs: ids}); err != nil {
			return nil, fmt.Errorf("deleting cache entries of session %s: %w", sessionID, err)
		}
	}
	return ids, nil
}

// Purge removes the entries f matches: it reads every shard.
func (s *CacheStore) Purge(ctx context.Context, f cache.Filter) (int, error) {
	if f == (cache.Filter{}) {
		return 0, cache.ErrEmptyFilter
	}
	var conds []string
	vals := map[string]types.AttributeValue{}
	if f.Tenant != "" {
		conds = append(conds, "t = :t")
		vals[":t"] = str(f.Tenant)
	}
	if f.Model != "" {
		conds = append(conds, "(m = :m OR am = :m)")
		vals[":m"] = str(f.Model)
	}
	filter := conds[0]
	if len(conds) == 2 {
		filter += " AND " + conds[1]
	}
	ids, err := s.deleteMatching(ctx, filter, vals)
	if err != nil {
		return 0, fmt.Errorf("purging cache entries: %w", err)
	}
	if err := s.announce(ctx, cache.Change{Op: cache.OpPurge, Filter: f}); err != nil {
		return 0, fmt.Errorf("purging cache entries: %w", err)
	}
	return len(ids), nil
}

// List reads every shard and calls fn for the live entries. Where the
// server has no time to live, it deletes the expired ones it met.
func (s *CacheStore) List(ctx context.Context, fn func(cache.Entry) error) error {
	now := unixMs(s.now())
	var expired []map[string]types.AttributeValue
	err := s.scan(ctx, "", nil, func(it map[string]types.AttributeValue) error {
		if exp := getN(it, "exp"); exp != 0 && exp <= now {
			expired = append(expired, key(getS(it, attrPK), getS(it, attrSK)))
			return nil
		}
		e, err := cachecodec.Unmarshal(getB(it, "v"))
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		return fn(e)
	})
	if err != nil {
		return err
	}
	if !s.db.nativeTTL && len(expired) > 0 {
		if err := s.db.batchDelete(ctx, expired); err != nil {
			s.db.log.Debug("dynamodb: deleting expired cache entries", slog.Any("err", err))
		}
	}
	return nil
}

// Watch reads the feed's last number, so that every change numbered after
// it arrives, and polls the log from there.
func (s *CacheStore) Watch(ctx context.Context) (<-chan cache.Change, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: feedSeqKey, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("subscribing to the cache change feed: %w", err)
	}
	ch := make(chan cache.Change, feedBuffer)
	go s.feed(ctx, getN(out.Item, "seq")+1, ch)
	return ch, nil
}

// feed delivers the log's changes from number next on until ctx is done or
// the log fails it, then closes out. It is the one writer of out.
func (s *CacheStore) feed(ctx context.Context, next int64, out chan<- cache.Change) {
	defer close(out)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	var gapSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			// A request that hangs (a silent partition) fails the feed
			// rather than stall it.
			qctx, cancel := context.WithTimeout(ctx, pollTimeout)
			res, err := s.db.c.Query(qctx, &dynamodb.QueryInput{
				TableName:              s.db.table,
				KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":pk": str(feedPK), ":from": str(feedSK(next)), ":to": str("99999999999999999999"),
				},
				ConsistentRead: aws.Bool(true),
				Limit:          aws.Int32(100),
			})
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.db.log.Warn("cache: change feed lost; the cache will list the store again", slog.Any("err", err))
				return
			}
			gap := false
			for _, it := range res.Items {
				if getS(it, attrSK) != feedSK(next) {
					gap = true
					break
				}
				c, err := cachecodec.UnmarshalChange(getB(it, "c"))
				if err != nil {
					s.db.log.Warn("cache: unreadable change on the feed", slog.Any("err", err))
					return
				}
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
				next++
				gapSince = time.Time{}
			}
			if gap {
				if gapSince.IsZero() {
					gapSince = time.Now()
				} else if time.Since(gapSince) > s.gapWait {
					s.db.log.Warn("cache: a change of the feed never arrived; the cache will list the store again", slog.Int64("seq", next))
					return
				}
				break
			}
			if len(res.LastEvaluatedKey) == 0 {
				break
			}
		}
	}
}
