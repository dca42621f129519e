package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// Long-term memory in Redis. Every key of a tenant carries the tenant's
// hash tag, so that a change, which touches several keys, is one script
// in one slot (Redis Cluster shards by tenant):
//
//	{cato:mem:T}:u:U:meta    hash: version, forgotten (Unix µs)
//	{cato:mem:T}:u:U:facts   hash: fact ID → JSON, current facts
//	{cato:mem:T}:u:U:hist    hash: fact ID → JSON, superseded facts
//	{cato:mem:T}:u:U:eps     hash: episode ID → JSON (no vector)
//	{cato:mem:T}:u:U:vecs    hash: episode ID → float32s (cachecodec)
//	{cato:mem:T}:s:S         set of "U NUL episode ID": the session's episodes
//	{cato:mem:T}:forgotten   hash: session → forgotten at (Unix µs)
//
// The consolidation queue is one stream, cato:mem:queue, read by the
// consumer group cato-memory. Acknowledged entries are deleted, so the
// stream holds only the work left. Redis has no vector search here
// (Debian's RediSearch is too old), so SearchEpisodes reads the user's
// vectors and scans them in process.

// memGroup is the stream's consumer group.
const memGroup = "cato-memory"

// applyScript applies a memory.Change. KEYS: meta, facts, eps, vecs,
// forgotten, the interaction's session set, hist. ARGV: version,
// interaction ID (or ""), its time (µs), its session, episode ID (or ""),
// episode JSON, episode vector (or ""), session member, then a count and
// that many (ID, JSON, "c" current or "h" superseded) triples to put, a
// count and fact IDs to delete, a count and episode IDs to delete.
// Returns 0, or 1 duplicate, 2 forgotten, 3 conflict.
var applyScript = redis.NewScript(`
local iid = ARGV[2]
if iid ~= '' then
  if redis.call('HEXISTS', KEYS[3], iid) == 1 then return 1 end
  local at = tonumber(ARGV[3])
  local f = redis.call('HGET', KEYS[1], 'forgotten')
  if f and tonumber(f) >= at then return 2 end
  if ARGV[4] ~= '' then
    local s = redis.call('HGET', KEYS[5], ARGV[4])
    if s and tonumber(s) >= at then return 2 end
  end
end
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if v ~= tonumber(ARGV[1]) then return 3 end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[4], ARGV[5], ARGV[7]) end
  if ARGV[8] ~= '' then redis.call('SADD', KEYS[6], ARGV[8]) end
end
local i = 9
local n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do
  if ARGV[i + 2] == 'c' then
    redis.call('HDEL', KEYS[7], ARGV[i]); redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  else
    redis.call('HDEL', KEYS[2], ARGV[i]); redis.call('HSET', KEYS[7], ARGV[i], ARGV[i + 1])
  end
  i = i + 3
end
n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do
  redis.call('HDEL', KEYS[2], ARGV[i]); redis.call('HDEL', KEYS[7], ARGV[i]); i = i + 1
end
n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do
  redis.call('HDEL', KEYS[3], ARGV[i]); redis.call('HDEL', KEYS[4], ARGV[i]); i = i + 1
end
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 0
`)

// forgetUserScript deletes a user's memory. KEYS: meta, facts, eps,
// vecs, hist. ARGV: forgotten at (µs).
var forgetUserScript = redis.NewScript(`
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local f = tonumber(redis.call('HGET', KEYS[1], 'forgotten') or '0')
if tonumber(ARGV[1]) > f then redis.call('HSET', KEYS[1], 'forgotten', ARGV[1]) end
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 0
`)

// forgetSessionScript records the later of two times. KEYS: forgotten.
// ARGV: session, at (µs).
var forgetSessionScript = redis.NewScript(`
local f = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > f then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`)

// MemoryStore is the Redis memory.Store and memory.Queue, shared by the
// replicas on the Redis. Queue leases are the stream's idle times,
// measured by Redis: entries pending longer than the lease are taken over
// with XAUTOCLAIM. It is safe for concurrent use.
type MemoryStore struct {
	c     *Client
	opts  memory.QueueOptions
	queue string
}

var _ memory.Backend = (*MemoryStore)(nil)

// NewMemoryStore returns the memory store of c and creates the queue's
// consumer group if it is missing.
func NewMemoryStore(ctx context.Context, c *Client, o memory.QueueOptions) (*MemoryStore, error) {
	s := &MemoryStore{c: c, opts: o.WithDefaults(), queue: c.prefix + "mem:queue"}
	err := c.rdb.XGroupCreateMkStream(ctx, s.queue, memGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil, fmt.Errorf("creating the memory queue's consumer group: %w", err)
	}
	return s, nil
}

func (s *MemoryStore) tenantKey(tenant string) string {
	return s.c.prefix + "mem:{" + url.QueryEscape(tenant) + "}:"
}

type userKeys struct{ meta, facts, hist, eps, vecs string }

func (s *MemoryStore) userKeys(k memory.Key) userKeys {
	p := s.tenantKey(k.Tenant) + "u:" + url.QueryEscape(k.User) + ":"
	return userKeys{meta: p + "meta", facts: p + "facts", hist: p + "hist", eps: p + "eps", vecs: p + "vecs"}
}

func (s *MemoryStore) sessionKey(tenant, session string) string {
	return s.tenantKey(tenant) + "s:" + url.QueryEscape(session)
}

func (s *MemoryStore) forgottenKey(tenant string) string { return s.tenantKey(tenant) + "forgotten" }

func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// EpisodeSearch names the in-process scan.
func (s *MemoryStore) EpisodeSearch() string { return "exact_scan" }

// Load reads k's version and facts in one transaction.
func (s *MemoryStore) Load(ctx context.Context, k memory.Key, which memory.Which) (memory.State, error) {
	if err := k.Validate(); err != nil {
		return memory.State{}, err
	}
	keys := s.userKeys(k)
	var ver *redis.StringCmd
	var vals, hist *redis.StringSliceCmd
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ver = p.HGet(ctx, keys.meta, "version")
		vals = p.HVals(ctx, keys.facts)
		if which == memory.AllFacts {
			hist = p.HVals(ctx, keys.hist)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return memory.State{}, fmt.Errorf("loading memory: %w", err)
	}
	var st memory.State
	if v, err := ver.Int64(); err == nil {
		st.Version = v
	}
	raws := vals.Val()
	if hist != nil {
		raws = append(raws, hist.Val()...)
	}
	for _, raw := range raws {
		var f memory.Fact
		if err := json.Unmarshal([]byte(raw), &f); err != nil {
			return memory.State{}, fmt.Errorf("decoding fact: %w", err)
		}
		st.Facts = append(st.Facts, f)
	}
	return st, nil
}

// Apply runs applyScript.
func (s *MemoryStore) Apply(ctx context.Context, c memory.Change) error {
	if err := c.Key.Validate(); err != nil {
		return err
	}
	keys := s.userKeys(c.Key)
	session := ""
	if c.Interaction != nil {
		session = c.Interaction.SessionID
	} else if c.Episode != nil {
		session = c.Episode.SessionID
	}
	args := []any{c.Version}
	if i := c.Interaction; i != nil {
		args = append(args, i.ID, micros(i.At), i.SessionID)
	} else {
		args = append(args, "", "0", "")
	}
	if e := c.Episode; e != nil {
		js, err := json.Marshal(e)
		if err != nil {
			return err
		}
		var vec []byte
		if len(e.Vector) > 0 {
			vec = cachecodec.EncodeVector(e.Vector)
		}
		member := ""
		if e.SessionID != "" {
			member = c.Key.User + "\x00" + e.ID
		}
		args = append(args, e.ID, js, vec, member)
	} else {
		args = append(args, "", "", "", "")
	}
	args = append(args, len(c.Put))
	for i := range c.Put {
		js, err := json.Marshal(&c.Put[i])
		if err != nil {
			return err
		}
		state := "c"
		if !c.Put[i].Current() {
			state = "h"
		}
		args = append(args, c.Put[i].ID, js, state)
	}
	args = append(args, len(c.Delete))
	for _, id := range c.Delete {
		args = append(args, id)
	}
	args = append(args, len(c.DeleteEpisodes))
	for _, id := range c.DeleteEpisodes {
		args = append(args, id)
	}
	res, err := applyScript.Run(ctx, s.c.rdb, []string{keys.meta, keys.facts, keys.eps, keys.vecs,
		s.forgottenKey(c.Key.Tenant), s.sessionKey(c.Key.Tenant, session), keys.hist}, args...).Int()
	if err != nil {
		return fmt.Errorf("applying memory change: %w", err)
	}
	switch res {
	case 1:
		return memory.ErrDuplicate
	case 2:
		return memory.ErrForgotten
	case 3:
		return memory.ErrConflict
	}
	return nil
}

// SearchEpisodes reads k's vectors and scans them.
func (s *MemoryStore) SearchEpisodes(ctx context.Context, k memory.Key, vec []float32, n int) ([]memory.EpisodeHit, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if n <= 0 || len(vec) == 0 {
		return nil, nil
	}
	keys := s.userKeys(k)
	all, err := s.c.rdb.HGetAll(ctx, keys.vecs).Result()
	if err != nil {
		return nil, fmt.Errorf("searching episodes: %w", err)
	}
	type scored struct {
		id    string
		score float32
	}
	var best []scored
	for id, raw := range all {
		v, err := cachecodec.DecodeVector([]byte(raw))
		if err != nil || len(v) != len(vec) {
			continue
		}
		sc := dot(vec, v)
		if len(best) == n && sc <= best[n-1].score {
			continue
		}
		i, _ := slices.BinarySearchFunc(best, sc, func(x scored, s float32) int { return cmp.Compare(s, x.score) })
		best = slices.Insert(best, i, scored{id, sc})
		if len(best) > n {
			best = best[:n]
		}
	}
	if len(best) == 0 {
		return nil, nil
	}
	ids := make([]string, len(best))
	for i, b := range best {
		ids[i] = b.id
	}
	raws, err := s.c.rdb.HMGet(ctx, keys.eps, ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading episodes: %w", err)
	}
	hits := make([]memory.EpisodeHit, 0, len(best))
	for i, r := range raws {
		str, ok := r.(string)
		if !ok {
			continue // deleted since
		}
		var h memory.EpisodeHit
		if err := json.Unmarshal([]byte(str), &h.Episode); err != nil {
			return nil, fmt.Errorf("decoding episode: %w", err)
		}
		h.Score = best[i].score
		hits = append(hits, h)
	}
	return hits, nil
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
	members, err := s.c.rdb.SMembers(ctx, s.sessionKey(tenant, sessionID)).Result()
	if err != nil {
		return nil, fmt.Errorf("listing session episodes: %w", err)
	}
	refs := make([]memory.EpisodeRef, 0, len(members))
	for _, m := range members {
		user, id, ok := strings.Cut(m, "\x00")
		if ok {
			refs = append(refs, memory.EpisodeRef{User: user, ID: id})
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	// Members of deleted episodes linger (a change deletes episodes
	// without knowing their sessions): keep those that exist.
	cmds := make([]*redis.BoolCmd, len(refs))
	_, err = s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range refs {
			cmds[i] = p.HExists(ctx, s.userKeys(memory.Key{Tenant: tenant, User: r.User}).eps, r.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing session episodes: %w", err)
	}
	out := refs[:0]
	for i, r := range refs {
		if cmds[i].Val() {
			out = append(out, r)
		}
	}
	return out, nil
}

// ForgetUser runs forgetUserScript.
func (s *MemoryStore) ForgetUser(ctx context.Context, k memory.Key, at time.Time) error {
	if err := k.Validate(); err != nil {
		return err
	}
	keys := s.userKeys(k)
	if err := forgetUserScript.Run(ctx, s.c.rdb, []string{keys.meta, keys.facts, keys.eps, keys.vecs, keys.hist}, micros(at)).Err(); err != nil {
		return fmt.Errorf("forgetting user: %w", err)
	}
	return nil
}

// ForgetSession records the time and drops the session's episode list.
func (s *MemoryStore) ForgetSession(ctx context.Context, tenant, sessionID string, at time.Time) error {
	if err := forgetSessionScript.Run(ctx, s.c.rdb, []string{s.forgottenKey(tenant)}, sessionID, micros(at)).Err(); err != nil {
		return fmt.Errorf("forgetting session: %w", err)
	}
	return nil
}

// Enqueue adds items to the stream in one pipeline.
func (s *MemoryStore) Enqueue(ctx context.Context, items []memory.Interaction) error {
	if len(items) == 0 {
		return nil
	}
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range items {
			js, err := json.Marshal(&items[i])
			if err != nil {
				return err
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.queue, Values: []any{"item", js}})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enqueueing interactions: %w", err)
	}
	return nil
}

// maxBlock caps a Claim's BLOCK, below the connection's read timeout
// added to it, so that a waiting claim never looks like a dead server.
const maxBlock = 5 * time.Second

// Claim takes over entries idle longer than the lease (XAUTOCLAIM), then
// reads new ones (XREADGROUP), blocking up to wait when there were none.
func (s *MemoryStore) Claim(ctx context.Context, consumer string, limit int, wait time.Duration) ([]memory.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	msgs, _, err := s.c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.queue, Group: memGroup, Consumer: consumer, MinIdle: s.opts.Lease, Start: "0-0", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("claiming stuck interactions: %w", err)
	}
	out, err := s.deliveries(ctx, msgs, true)
	if err != nil {
		return nil, err
	}
	if len(out) >= limit {
		return out, nil
	}
	block := time.Duration(-1) // no BLOCK argument
	if len(out) == 0 && wait > 0 {
		block = max(min(wait, maxBlock), time.Millisecond)
	}
	streams, err := s.c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: memGroup, Consumer: consumer, Streams: []string{s.queue, ">"}, Count: int64(limit - len(out)), Block: block,
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return out, fmt.Errorf("claiming interactions: %w", err)
	}
	for _, st := range streams {
		more, err := s.deliveries(ctx, st.Messages, false)
		if err != nil {
			return out, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// deliveries decodes messages; taken over (redelivered) ones get their
// delivery count from XPENDING. Unreadable entries are acknowledged.
func (s *MemoryStore) deliveries(ctx context.Context, msgs []redis.XMessage, again bool) ([]memory.Delivery, error) {
	var out, bad []memory.Delivery
	for _, m := range msgs {
		d := memory.Delivery{Attempt: 1, Receipt: m.ID}
		raw, _ := m.Values["item"].(string)
		if err := json.Unmarshal([]byte(raw), &d.Interaction); err != nil {
			bad = append(bad, d)
			continue
		}
		out = append(out, d)
	}
	if len(bad) > 0 {
		if err := s.Ack(ctx, bad); err != nil {
			return nil, err
		}
	}
	if !again || len(out) == 0 {
		return out, nil
	}
	cmds := make([]*redis.XPendingExtCmd, len(out))
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range out {
			cmds[i] = p.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: s.queue, Group: memGroup, Start: d.Receipt, End: d.Receipt, Count: 1})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading delivery counts: %w", err)
	}
	for i := range out {
		out[i].Attempt = 2
		if ps := cmds[i].Val(); len(ps) == 1 {
			out[i].Attempt = int(ps[0].RetryCount)
		}
	}
	return out, nil
}

// Ack acknowledges and deletes the entries.
func (s *MemoryStore) Ack(ctx context.Context, ds []memory.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.Receipt
	}
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, s.queue, memGroup, ids...)
		p.XDel(ctx, s.queue, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("acknowledging interactions: %w", err)
	}
	return nil
}

// Stats reads the stream's length, its pending entries and its first ID.
func (s *MemoryStore) Stats(ctx context.Context) (memory.QueueStats, error) {
	var xlen *redis.IntCmd
	var pend *redis.XPendingCmd
	var first *redis.XMessageSliceCmd
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		xlen = p.XLen(ctx, s.queue)
		pend = p.XPending(ctx, s.queue, memGroup)
		first = p.XRangeN(ctx, s.queue, "-", "+", 1)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return memory.QueueStats{}, fmt.Errorf("reading queue stats: %w", err)
	}
	st := memory.QueueStats{Depth: xlen.Val()}
	if p := pend.Val(); p != nil {
		st.InFlight = p.Count
	}
	if ms := first.Val(); len(ms) == 1 {
		if t, _, ok := strings.Cut(ms[0].ID, "-"); ok {
			if n, err := strconv.ParseInt(t, 10, 64); err == nil {
				st.Oldest = time.UnixMilli(n)
			}
		}
	}
	return st, nil
}
