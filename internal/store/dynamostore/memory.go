package dynamostore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// Long-term memory. A user's memory is a partition, pk m#TENANT#USER:
//
//	sk u      the user item: ver (the version), forgot (when the user was
//	          last forgotten, Unix µs), fwv (the version that forgetting
//	          gave: episodes written before it are gone), facts (map of
//	          fact ID to JSON, current and superseded), pend (the episode
//	          part of the last change, until it is written out)
//	sk e#ID   an episode (JSON without its vector), wv: the version that
//	          wrote it
//	sk v#ID   the episode's vector (cachecodec), wv
//	sk x#ID   a deleted episode's tombstone, kept a day
//
// pk m#TENANT, sk sf#SESSION holds when the session was forgotten; pk
// ms#TENANT#SESSION, sk USER NUL ID lists the session's episodes.
//
// DynamoDB's transactions are not used (dynalite has none): a change is
// one conditional write of the user item, on the version it was planned
// on, that holds its facts and its pending episode writes. That write is
// the commit. The episode, its vector and its session entry are then
// written out as items and pend removed; whoever next changes the user
// writes out a pend left behind by a writer that died. Deleting an
// episode leaves a tombstone first, and a writer of an episode reads the
// tombstone and the user's fwv after writing, so that a slow writer
// never brings back an episode deleted or forgotten meanwhile. An
// episode is searchable once written out: a few milliseconds after its
// commit, or at the user's next change if its writer died between the
// two.
//
// The queue is one partition, pk "mq", sk a time-ordered ID; claimed
// items carry their lease's end and their delivery count.

// MemoryStore is the DynamoDB memory.Store and memory.Queue, shared by the
// replicas on the table. It is safe for concurrent use.
type MemoryStore struct {
	db   *DB
	opts memory.QueueOptions
	ids  *queueIDs
}

var _ memory.Backend = (*MemoryStore)(nil)

// NewMemoryStore returns the memory store of db.
func NewMemoryStore(db *DB, o memory.QueueOptions) *MemoryStore {
	return &MemoryStore{db: db, opts: o.WithDefaults(), ids: &queueIDs{}}
}

// EpisodeSearch names the in-process scan of the user's vectors.
func (s *MemoryStore) EpisodeSearch() string { return "exact_scan" }

func userPK(k memory.Key) string { return "m#" + part(k.Tenant) + "#" + part(k.User) }

func userItemKey(k memory.Key) map[string]types.AttributeValue { return key(userPK(k), "u") }

func sessionForgotKey(tenant, session string) map[string]types.AttributeValue {
	return key("m#"+part(tenant), "sf#"+part(session))
}

func sessionPK(tenant, session string) string { return "ms#" + part(tenant) + "#" + part(session) }

// pending is the episode part of a change, as the user item holds it.
type pending struct {
	WV      int64           `json:"wv"`
	Episode *memory.Episode `json:"ep,omitempty"`
	Vector  []byte          `json:"vec,omitempty"`
	Delete  []string        `json:"del,omitempty"`
}

// userState is the user item, decoded.
type userState struct {
	exists bool
	ver    int64
	forgot int64
	fwv    int64
	facts  map[string]string
	pend   *pending
}

func (s *MemoryStore) readUser(ctx context.Context, k memory.Key) (userState, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: userItemKey(k), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return userState{}, err
	}
	it := out.Item
	u := userState{exists: len(it) > 0, ver: getN(it, "ver"), forgot: getN(it, "forgot"), fwv: getN(it, "fwv"), facts: map[string]string{}}
	if m, ok := it["facts"].(*types.AttributeValueMemberM); ok {
		for id, v := range m.Value {
			if sv, ok := v.(*types.AttributeValueMemberS); ok {
				u.facts[id] = sv.Value
			}
		}
	}
	if p := getS(it, "pend"); p != "" {
		u.pend = &pending{}
		if err := json.Unmarshal([]byte(p), u.pend); err != nil {
			return userState{}, fmt.Errorf("decoding pending change: %w", err)
		}
	}
	return u, nil
}

// userItem encodes u for a PutItem.
func (u *userState) item(k memory.Key) (map[string]types.AttributeValue, error) {
	it := userItemKey(k)
	it["ver"], it["forgot"], it["fwv"] = n(u.ver), n(u.forgot), n(u.fwv)
	facts := make(map[string]types.AttributeValue, len(u.facts))
	for id, js := range u.facts {
		facts[id] = str(js)
	}
	it["facts"] = &types.AttributeValueMemberM{Value: facts}
	if u.pend != nil {
		js, err := json.Marshal(u.pend)
		if err != nil {
			return nil, err
		}
		it["pend"] = str(string(js))
	}
	return it, nil
}

// putUser writes u if the user item is still at version from.
func (s *MemoryStore) putUser(ctx context.Context, k memory.Key, u *userState, from int64) error {
	it, err := u.item(k)
	if err != nil {
		return err
	}
	cond := "ver = :v"
	if from == 0 {
		cond = "attribute_not_exists(pk) OR ver = :v"
	}
	_, err = s.db.c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.db.table, Item: it, ConditionExpression: aws.String(cond),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(from)},
	})
	if conditionFailed(err) {
		return memory.ErrConflict
	}
	return err
}

// Load reads the user item.
func (s *MemoryStore) Load(ctx context.Context, k memory.Key, which memory.Which) (memory.State, error) {
	if err := k.Validate(); err != nil {
		return memory.State{}, err
	}
	u, err := s.readUser(ctx, k)
	if err != nil {
		return memory.State{}, fmt.Errorf("loading memory: %w", err)
	}
	st := memory.State{Version: u.ver}
	for _, js := range u.facts {
		var f memory.Fact
		if err := json.Unmarshal([]byte(js), &f); err != nil {
			return memory.State{}, fmt.Errorf("decoding fact: %w", err)
		}
		if which == memory.AllFacts || f.Current() {
			st.Facts = append(st.Facts, f)
		}
	}
	return st, nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func (s *MemoryStore) exists(ctx context.Context, k map[string]types.AttributeValue) (bool, error) {
	out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: k, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("pk")})
	if err != nil {
		return false, err
	}
	return len(out.Item) > 0, nil
}

// Apply checks for a duplicate and a forgotten interaction, writes out
// the pending episode of the previous change, commits c with one
// conditional write of the user item, and writes out its episode.
func (s *MemoryStore) Apply(ctx context.Context, c memory.Change) error {
	if err := c.Key.Validate(); err != nil {
		return err
	}
	u, err := s.readUser(ctx, c.Key)
	if err != nil {
		return fmt.Errorf("applying memory change: %w", err)
	}
	if i := c.Interaction; i != nil {
		if u.pend != nil && u.pend.Episode != nil && u.pend.Episode.ID == i.ID {
			// Committed, and stopped before its episode was written out
			// (a process killed in between): finish that now, or the
			// episode would wait for the user's next change.
			if err := s.finish(ctx, c.Key, u.ver, u.pend); err != nil {
				return fmt.Errorf("applying memory change: writing out its episode: %w", err)
			}
			return memory.ErrDuplicate
		}
		dup, err := s.exists(ctx, key(userPK(c.Key), "e#"+i.ID))
		if err != nil {
			return fmt.Errorf("applying memory change: %w", err)
		}
		if dup {
			return memory.ErrDuplicate
		}
		if u.forgot >= micros(i.At) {
			return memory.ErrForgotten
		}
		if i.SessionID != "" {
			out, err := s.db.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.db.table, Key: sessionForgotKey(c.Key.Tenant, i.SessionID), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return fmt.Errorf("applying memory change: %w", err)
			}
			if len(out.Item) > 0 && getN(out.Item, "at") >= micros(i.At) {
				return memory.ErrForgotten
			}
		}
	}
	if u.ver != c.Version {
		return memory.ErrConflict
	}
	if u.pend != nil {
		if err := s.writeOut(ctx, c.Key, u.pend); err != nil {
			return fmt.Errorf("applying memory change: writing out the previous one: %w", err)
		}
	}
	next := u
	next.ver = u.ver + 1
	next.pend = nil
	for i := range c.Put {
		js, err := json.Marshal(&c.Put[i])
		if err != nil {
			return err
		}
		next.facts[c.Put[i].ID] = string(js)
	}
	for _, id := range c.Delete {
		delete(next.facts, id)
	}
	if c.Episode != nil || len(c.DeleteEpisodes) > 0 {
		next.pend = &pending{WV: next.ver, Episode: c.Episode, Delete: c.DeleteEpisodes}
		if c.Episode != nil && len(c.Episode.Vector) > 0 {
			next.pend.Vector = cachecodec.EncodeVector(c.Episode.Vector)
		}
	}
	if err := s.putUser(ctx, c.Key, &next, u.ver); err != nil {
		if err == memory.ErrConflict {
			return err
		}
		return fmt.Errorf("applying memory change: %w", err)
	}
	if next.pend == nil {
		return nil
	}
	// Committed: what follows is redone by the next change if it fails.
	if err := s.finish(ctx, c.Key, next.ver, next.pend); err != nil {
		s.db.log.Warn("memory: writing out an episode failed; the user's next change will", slog.Any("err", err))
	}
	return nil
}

// finish writes out p, the pending part of the user's change at version
// ver, and then clears it from the user item unless a later change has
// come meanwhile. Both steps can be repeated.
func (s *MemoryStore) finish(ctx context.Context, k memory.Key, ver int64, p *pending) error {
	if err := s.writeOut(ctx, k, p); err != nil {
		return err
	}
	_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: userItemKey(k),
		UpdateExpression:          aws.String("REMOVE pend"),
		ConditionExpression:       aws.String("ver = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": n(ver)},
	})
	if err != nil && !conditionFailed(err) {
		s.db.log.Debug("memory: clearing a written-out change", slog.Any("err", err))
	}
	return nil
}

// tombstoneLife is how long a deleted episode's tombstone stops a slow
// writer from bringing it back.
const tombstoneLife = 24 * time.Hour

// writeOut writes p's episode items and deletes its deleted episodes. It
// is idempotent.
func (s *MemoryStore) writeOut(ctx context.Context, k memory.Key, p *pending) error {
	pk := userPK(k)
	for _, id := range p.Delete {
		tomb := key(pk, "x#"+id)
		tomb[attrTTL] = ttlOf(time.Now().Add(tombstoneLife))
		if _, err := s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: tomb}); err != nil {
			return err
		}
		if err := s.db.batchDelete(ctx, []map[string]types.AttributeValue{key(pk, "e#"+id), key(pk, "v#"+id)}); err != nil {
			return err
		}
	}
	e := p.Episode
	if e == nil {
		return nil
	}
	js, err := json.Marshal(e)
	if err != nil {
		return err
	}
	ep := key(pk, "e#"+e.ID)
	ep["ep"], ep["wv"] = str(string(js)), n(p.WV)
	puts := []map[string]types.AttributeValue{ep}
	if len(p.Vector) > 0 {
		v := key(pk, "v#"+e.ID)
		v["vec"], v["wv"] = b(p.Vector), n(p.WV)
		puts = append(puts, v)
	}
	if e.SessionID != "" {
		puts = append(puts, key(sessionPK(k.Tenant, e.SessionID), k.User+"\x00"+e.ID))
	}
	for _, it := range puts {
		if _, err := s.db.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.db.table, Item: it}); err != nil {
			return err
		}
	}
	// Deleted or forgotten meanwhile? Then this write came late: undo it.
	u, err := s.readUser(ctx, k)
	if err != nil {
		return err
	}
	tomb, err := s.exists(ctx, key(pk, "x#"+e.ID))
	if err != nil {
		return err
	}
	if tomb || u.fwv > p.WV {
		return s.db.batchDelete(ctx, []map[string]types.AttributeValue{key(pk, "e#"+e.ID), key(pk, "v#"+e.ID)})
	}
	return nil
}

// SearchEpisodes reads the user's vectors, scans them, and reads the best
// n episodes.
func (s *MemoryStore) SearchEpisodes(ctx context.Context, k memory.Key, vec []float32, limit int) ([]memory.EpisodeHit, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if limit <= 0 || len(vec) == 0 {
		return nil, nil
	}
	type scored struct {
		id    string
		score float32
	}
	var best []scored
	err := s.db.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :v)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(userPK(k)), ":v": str("v#")},
		ConsistentRead:            aws.Bool(true),
	}, func(it map[string]types.AttributeValue) error {
		v, err := cachecodec.DecodeVector(getB(it, "vec"))
		if err != nil || len(v) != len(vec) {
			return nil
		}
		sc := dot(vec, v)
		if len(best) == limit && sc <= best[limit-1].score {
			return nil
		}
		i, _ := slices.BinarySearchFunc(best, sc, func(x scored, s float32) int { return cmp.Compare(s, x.score) })
		best = slices.Insert(best, i, scored{strings.TrimPrefix(getS(it, attrSK), "v#"), sc})
		if len(best) > limit {
			best = best[:limit]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("searching episodes: %w", err)
	}
	if len(best) == 0 {
		return nil, nil
	}
	keys := make([]map[string]types.AttributeValue, len(best))
	for i, b := range best {
		keys[i] = key(userPK(k), "e#"+b.id)
	}
	items, err := s.batchGet(ctx, keys, "")
	if err != nil {
		return nil, fmt.Errorf("reading episodes: %w", err)
	}
	hits := make([]memory.EpisodeHit, 0, len(best))
	for _, b := range best {
		it, ok := items["e#"+b.id]
		if !ok {
			continue // deleted since
		}
		var h memory.EpisodeHit
		if err := json.Unmarshal([]byte(getS(it, "ep")), &h.Episode); err != nil {
			return nil, fmt.Errorf("decoding episode: %w", err)
		}
		h.Score = b.score
		hits = append(hits, h)
	}
	return hits, nil
}

// batchGet reads keys (all of one partition) with consistent reads, 100
// per request, and returns the items found by sort key.
func (s *MemoryStore) batchGet(ctx context.Context, keys []map[string]types.AttributeValue, projection string) (map[string]map[string]types.AttributeValue, error) {
	found := map[string]map[string]types.AttributeValue{}
	for len(keys) > 0 {
		chunk := keys[:min(100, len(keys))]
		keys = keys[len(chunk):]
		req := types.KeysAndAttributes{Keys: chunk, ConsistentRead: aws.Bool(true)}
		if projection != "" {
			req.ProjectionExpression = aws.String(projection)
		}
		for wait := 10 * time.Millisecond; len(req.Keys) > 0; wait = min(2*wait, time.Second) {
			out, err := s.db.c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{*s.db.table: req}})
			if err != nil {
				return nil, err
			}
			for _, it := range out.Responses[*s.db.table] {
				found[getS(it, attrSK)] = it
			}
			req.Keys = out.UnprocessedKeys[*s.db.table].Keys
			if len(req.Keys) > 0 {
				if err := sleep(ctx, wait); err != nil {
					return nil, err
				}
			}
		}
	}
	return found, nil
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// SessionEpisodes lists the session's episodes that still exist.
func (s *MemoryStore) SessionEpisodes(ctx context.Context, tenant, sessionID string) ([]memory.EpisodeRef, error) {
	var refs []memory.EpisodeRef
	err := s.db.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(sessionPK(tenant, sessionID))},
		ConsistentRead:            aws.Bool(true),
	}, func(it map[string]types.AttributeValue) error {
		if user, id, ok := strings.Cut(getS(it, attrSK), "\x00"); ok {
			refs = append(refs, memory.EpisodeRef{User: user, ID: id})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing session episodes: %w", err)
	}
	out := refs[:0]
	for _, r := range refs {
		// Entries of deleted episodes linger: keep those that exist.
		ok, err := s.exists(ctx, key(userPK(memory.Key{Tenant: tenant, User: r.User}), "e#"+r.ID))
		if err != nil {
			return nil, fmt.Errorf("listing session episodes: %w", err)
		}
		if ok {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// ForgetUser empties the user item at a new version that forgets every
// episode written before it, then deletes those episodes.
func (s *MemoryStore) ForgetUser(ctx context.Context, k memory.Key, at time.Time) error {
	if err := k.Validate(); err != nil {
		return err
	}
	var fwv int64
	for attempt := 0; ; attempt++ {
		u, err := s.readUser(ctx, k)
		if err != nil {
			return fmt.Errorf("forgetting user: %w", err)
		}
		next := userState{ver: u.ver + 1, forgot: max(u.forgot, micros(at)), fwv: u.ver + 1, facts: map[string]string{}}
		err = s.putUser(ctx, k, &next, u.ver)
		if err == nil {
			fwv = next.fwv
			break
		}
		if err != memory.ErrConflict {
			return fmt.Errorf("forgetting user: %w", err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return fmt.Errorf("forgetting user: %w", err)
		}
	}
	var keys []map[string]types.AttributeValue
	err := s.db.queryAll(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk AND sk BETWEEN :from AND :to"),
		FilterExpression:          aws.String("wv < :fwv"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(userPK(k)), ":from": str("e#"), ":to": str("v$"), ":fwv": n(fwv)},
		ConsistentRead:            aws.Bool(true),
		ProjectionExpression:      aws.String("pk, sk"),
	}, func(it map[string]types.AttributeValue) error {
		if sk := getS(it, attrSK); strings.HasPrefix(sk, "e#") || strings.HasPrefix(sk, "v#") {
			keys = append(keys, key(userPK(k), sk))
		}
		return nil
	})
	if err == nil {
		err = s.db.batchDelete(ctx, keys)
	}
	if err != nil {
		return fmt.Errorf("forgetting user: deleting episodes: %w", err)
	}
	return nil
}

// ForgetSession records the later of at and the time already recorded.
func (s *MemoryStore) ForgetSession(ctx context.Context, tenant, sessionID string, at time.Time) error {
	_, err := s.db.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: s.db.table, Key: sessionForgotKey(tenant, sessionID),
		UpdateExpression:          aws.String("SET #at = :at"),
		ConditionExpression:       aws.String("attribute_not_exists(#at) OR #at < :at"),
		ExpressionAttributeNames:  map[string]string{"#at": "at"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": n(micros(at))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("forgetting session: %w", err)
	}
	return nil
}
