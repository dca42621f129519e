package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// The cache's keys share one hash tag, {cato:cache}, so that its Lua
// scripts are legal on Redis Cluster (at the price of one slot holding the
// whole cache):
//
//	{cato:cache}:e:ID       hash: id, t (tenant), m (scope model), am
//	                        (answering model), s (session), ix (the index keys
//	                        below that list it, one per line), v (the entry,
//	                        cachecodec); server-side expiry at ExpiresAt
//	{cato:cache}:all        sorted set of every entry key, scored by
//	                        ExpiresAt (Unix ms): List reads it
//	{cato:cache}:t:TENANT   the same, per tenant: Purge by tenant
//	{cato:cache}:m:MODEL    the same, per model asked for or answering:
//	                        Purge by model
//	{cato:cache}:s:SESSION  the same, per session id (of any tenant):
//	                        DeleteBySession, which checks the tenant
//	{cato:cache}:changes    the pub/sub channel of the change feed
//
// Index members are entry keys, so that scripts need not build keys. An
// entry that expires leaves its members behind; every Put drops the expired
// members of the indexes it touches, and each index expires itself after
// its last entry. Every write is one script that also publishes its change,
// so replicas see changes in the order Redis applied them.

// putScript replaces an entry. KEYS: entry, then its index keys. ARGV: now
// ms, expires ms (0: never), id, tenant, scope model, answering model,
// session, encoded entry, channel, change.
var putScript = redis.NewScript(`
local ek = KEYS[1]
local old = redis.call('HGET', ek, 'ix')
if old then
  for k in string.gmatch(old, '[^\n]+') do redis.call('ZREM', k, ek) end
end
redis.call('DEL', ek)
local now, exp = tonumber(ARGV[1]), tonumber(ARGV[2])
if exp == 0 or exp > now then
  local score = exp == 0 and '+inf' or exp
  local ix = {}
  for i = 2, #KEYS do
    local k = KEYS[i]
    ix[#ix + 1] = k
    redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
    local existed = redis.call('EXISTS', k) == 1
    local ttl = existed and redis.call('PTTL', k) or -3
    redis.call('ZADD', k, score, ek)
    if exp == 0 then
      redis.call('PERSIST', k)
    elseif ttl == -3 or (ttl >= 0 and ttl < exp - now) then
      redis.call('PEXPIRE', k, exp - now)
    end
  end
  redis.call('HSET', ek, 'id', ARGV[3], 't', ARGV[4], 'm', ARGV[5], 'am', ARGV[6], 's', ARGV[7],
    'ix', table.concat(ix, '\n'), 'v', ARGV[8])
  if exp > 0 then redis.call('PEXPIRE', ek, exp - now) end
end
redis.call('PUBLISH', ARGV[9], ARGV[10])
return 0
`)

// removeLua deletes the entry key ek (and its index members) if it exists,
// and returns its id or false.
const removeLua = `
local function remove(ek)
  local f = redis.call('HMGET', ek, 'id', 'ix')
  if not f[1] then return false end
  if f[2] then
    for k in string.gmatch(f[2], '[^\n]+') do redis.call('ZREM', k, ek) end
  end
  redis.call('DEL', ek)
  return f[1]
end
`

// deleteScript deletes entries. KEYS: entry keys. ARGV: channel. Returns
// the IDs of the entries that were there.
var deleteScript = redis.NewScript(removeLua + `
local gone = {}
for i = 1, #KEYS do
  local id = remove(KEYS[i])
  if id then gone[#gone + 1] = id end
end
if #gone > 0 then redis.call('PUBLISH', ARGV[1], cjson.encode({op = 2, ids = gone})) end
return gone
`)

// deleteSessionScript deletes a session's entries. KEYS: the session's
// index. ARGV: channel, tenant. The index is by session id alone, which
// tenants share, so only the entries of the tenant go; members whose entry
// expired are dropped. Returns the IDs of the entries that were there.
var deleteSessionScript = redis.NewScript(removeLua + `
local gone = {}
for _, ek in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local t = redis.call('HGET', ek, 't')
  if not t then
    redis.call('ZREM', KEYS[1], ek)
  elseif t == ARGV[2] then
    local id = remove(ek)
    if id then gone[#gone + 1] = id end
  end
end
if #gone > 0 then redis.call('PUBLISH', ARGV[1], cjson.encode({op = 2, ids = gone})) end
return gone
`)

// purgeScript deletes the entries of an index that match a filter. KEYS:
// the tenant's index, or the model's when the filter names no tenant.
// ARGV: channel, tenant, model, change. Returns how many it deleted.
var purgeScript = redis.NewScript(removeLua + `
local n = 0
for _, ek in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = redis.call('HMGET', ek, 't', 'm', 'am')
  if f[1] and (ARGV[2] == '' or f[1] == ARGV[2]) and (ARGV[3] == '' or f[2] == ARGV[3] or f[3] == ARGV[3]) then
    if remove(ek) then n = n + 1 end
  end
end
redis.call('PUBLISH', ARGV[1], ARGV[4])
return n
`)

// CacheStore is the Redis cache.Store, shared by every replica on the same
// Redis and prefix. Entries expire on the server at their ExpiresAt. The
// change feed is Redis pub/sub: each write publishes its change in the same
// script, so a watcher on any replica gets it within a round trip. Pub/sub
// keeps nothing for a subscriber that is away: when the connection of a
// Watch fails, its channel is closed (not silently re-subscribed), and the
// cache re-subscribes and lists again. It is safe for concurrent use.
type CacheStore struct {
	c       *Client
	now     func() time.Time
	base    string // "{" + prefix + "cache}"
	channel string
	// keepalive is how long a watcher waits for a message before it pings
	// Redis, and then for the answer before it gives the feed up.
	keepalive time.Duration
}

var _ cache.Store = (*CacheStore)(nil)

// defaultKeepalive bounds how long a dead feed connection that the kernel
// has not noticed (a silent network partition) goes undetected: two
// keepalives.
const defaultKeepalive = 5 * time.Second

// NewCacheStore returns the cache store of c; now is its clock (nil:
// time.Now), which sets the server-side expiry and decides what List skips.
func NewCacheStore(c *Client, now func() time.Time) *CacheStore {
	if now == nil {
		now = time.Now
	}
	base := "{" + c.Key("cache") + "}"
	return &CacheStore{c: c, now: now, base: base, channel: base + ":changes", keepalive: defaultKeepalive}
}

func (s *CacheStore) key(kind, name string) string {
	return s.base + ":" + kind + ":" + url.QueryEscape(name)
}

func (s *CacheStore) entryKey(id string) string { return s.key("e", id) }

func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Put stores e, replacing an entry with its ID.
func (s *CacheStore) Put(ctx context.Context, e cache.Entry) error {
	v, err := cachecodec.Marshal(e)
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	msg, err := cachecodec.MarshalChange(cache.Change{Op: cache.OpPut, Entry: e})
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	keys := []string{s.entryKey(e.ID), s.base + ":all", s.key("t", e.Scope.Tenant), s.key("m", e.Scope.Model)}
	if e.Model != e.Scope.Model {
		keys = append(keys, s.key("m", e.Model))
	}
	if e.SessionID != "" {
		keys = append(keys, s.key("s", e.SessionID))
	}
	exp := unixMs(e.ExpiresAt)
	if exp < 0 {
		exp = 1 // before 1970: long expired, not "never"
	}
	err = putScript.Run(ctx, s.c.rdb, keys, unixMs(s.now()), exp, e.ID, e.Scope.Tenant, e.Scope.Model, e.Model, e.SessionID, v, s.channel, msg).Err()
	if err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	return nil
}

// Delete removes ids.
func (s *CacheStore) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.entryKey(id)
	}
	if err := deleteScript.Run(ctx, s.c.rdb, keys, s.channel).Err(); err != nil {
		return fmt.Errorf("deleting cache entries: %w", err)
	}
	return nil
}

// DeleteBySession removes the entries of session sessionID of tenant.
func (s *CacheStore) DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	ids, err := deleteSessionScript.Run(ctx, s.c.rdb, []string{s.key("s", sessionID)}, s.channel, tenant).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("deleting cache entries of session %s: %w", sessionID, err)
	}
	return ids, nil
}

// Purge removes the entries f matches, reading the tenant's index (or the
// model's) in one script: an admin call, rare, that holds Redis for the
// time of the scan (a few hundred milliseconds per hundred thousand
// entries).
func (s *CacheStore) Purge(ctx context.Context, f cache.Filter) (int, error) {
	if f == (cache.Filter{}) {
		return 0, cache.ErrEmptyFilter
	}
	msg, err := cachecodec.MarshalChange(cache.Change{Op: cache.OpPurge, Filter: f})
	if err != nil {
		return 0, err
	}
	index := s.key("m", f.Model)
	if f.Tenant != "" {
		index = s.key("t", f.Tenant)
	}
	n, err := purgeScript.Run(ctx, s.c.rdb, []string{index}, s.channel, f.Tenant, f.Model, msg).Int()
	if err != nil {
		return 0, fmt.Errorf("purging cache entries: %w", err)
	}
	return n, nil
}

// listBatch is how many entries List asks for per round trip.
const listBatch = 500

// List calls fn for every live entry. It walks the :all index with ZSCAN,
// which returns every entry stored for the whole walk at least once (List
// calls fn once per ID) and may or may not return entries written
// meanwhile.
func (s *CacheStore) List(ctx context.Context, fn func(cache.Entry) error) error {
	seen := make(map[string]struct{})
	var cursor uint64
	for {
		now := s.now()
		nowMs := now.UnixMilli()
		items, next, err := s.c.rdb.ZScan(ctx, s.base+":all", cursor, "", listBatch).Result()
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		var keys []string
		for i := 0; i+1 < len(items); i += 2 {
			ek := items[i]
			if score, err := strconv.ParseFloat(items[i+1], 64); err == nil && score <= float64(nowMs) {
				continue
			}
			if _, dup := seen[ek]; dup {
				continue
			}
			seen[ek] = struct{}{}
			keys = append(keys, ek)
		}
		if err := s.listKeys(ctx, keys, now, fn); err != nil {
			return err
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// listKeys reads the entries keys name and calls fn for the live ones.
func (s *CacheStore) listKeys(ctx context.Context, keys []string, now time.Time, fn func(cache.Entry) error) error {
	if len(keys) == 0 {
		return nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := s.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.HGet(ctx, k, "v")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("listing cache entries: %w", err)
	}
	for _, cmd := range cmds {
		v, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue // expired or deleted since the scan
		}
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		e, err := cachecodec.Unmarshal(v)
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		if !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// feedBuffer is how many changes a watcher's channel holds. A consumer
// slower than that holds up the subscription's reads; Redis then buffers
// (up to its client-output-buffer-limit for pubsub, past which it drops the
// connection and the feed closes).
const feedBuffer = 1024

// Watch subscribes to the change feed. It returns once Redis has confirmed
// the subscription, so every change made afterwards arrives. The channel is
// closed when ctx is done or the subscription's connection fails.
func (s *CacheStore) Watch(ctx context.Context) (<-chan cache.Change, error) {
	ps := s.c.rdb.Subscribe(ctx, s.channel)
	msg, err := ps.ReceiveTimeout(ctx, s.keepalive)
	if err == nil {
		if _, ok := msg.(*redis.Subscription); !ok {
			err = fmt.Errorf("unexpected %T before the subscription", msg)
		}
	}
	if err != nil {
		ps.Close()
		return nil, fmt.Errorf("subscribing to the cache change feed: %w", err)
	}
	out := make(chan cache.Change, feedBuffer)
	go s.feed(ctx, ps, out)
	return out, nil
}

// feed passes the messages of ps to out until ctx is done or ps fails,
// then closes both. It is the one reader of ps.
func (s *CacheStore) feed(ctx context.Context, ps *redis.PubSub, out chan<- cache.Change) {
	defer close(out)
	defer ps.Close()
	// Closing ps ends a ReceiveTimeout in progress, which ctx alone does not.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.keepalive)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() && !pinged {
				if err = ps.Ping(ctx); err == nil {
					pinged = true
					continue
				}
			}
			s.c.log.Warn("cache: change feed lost; the cache will list the store again", slog.Any("err", err))
			return
		}
		pinged = false
		m, ok := msg.(*redis.Message)
		if !ok {
			continue // *redis.Pong
		}
		c, err := cachecodec.UnmarshalChange([]byte(m.Payload))
		if err != nil {
			// A change this replica cannot read may be one it needed:
			// closing makes the cache list the store again.
			s.c.log.Warn("cache: unreadable change on the feed", slog.String("channel", m.Channel), slog.Any("err", err))
			return
		}
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
	}
}
