package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/session"
)

// A session is two keys in one hash slot ({…} hash tag, for Redis Cluster):
//
//	{cato:session:TENANT:ID}:meta   hash: seq (last Seq), through, summary,
//	                                updated and expires (Unix ms)
//	{cato:session:TENANT:ID}:turns  list of "SEQ|JSON turn", oldest first
//
// Both carry the TTL as a server-side expiry, refreshed by each Append.
// expires repeats it in the store's clock (StoreOptions.Now), which is what
// Load and Append go by, so that tests can move time.

// appendScript assigns Seqs and pushes the turns in one atomic step.
// KEYS: meta, turns. ARGV: now ms, expires ms, TTL ms, turn JSON….
var appendScript = redis.NewScript(`
local exp = redis.call('HGET', KEYS[1], 'expires')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1], KEYS[2])
end
local n = #ARGV - 3
local last = redis.call('HINCRBY', KEYS[1], 'seq', n)
local items = {}
for i = 1, n do
  items[i] = tostring(last - n + i) .. '|' .. ARGV[3 + i]
end
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('HSET', KEYS[1], 'updated', ARGV[1], 'expires', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return last
`)

// foldScript trims the folded turns and sets the summary in one step.
// KEYS: meta, turns. ARGV: now ms, from, through, summary.
// Returns 0, or -1 (not found), -2 (conflict) with the current through and
// last Seq.
var foldScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[1], 'expires', 'through', 'seq')
if not m[1] or tonumber(m[1]) <= tonumber(ARGV[1]) then
  return {-1, 0, 0}
end
local cur = tonumber(m[2] or '0')
local last = tonumber(m[3] or '0')
local through = tonumber(ARGV[3])
if cur ~= tonumber(ARGV[2]) or through <= cur or through > last then
  return {-2, cur, last}
end
redis.call('LTRIM', KEYS[2], through - cur, -1)
redis.call('HSET', KEYS[1], 'through', ARGV[3], 'summary', ARGV[4])
return {0, cur, last}
`)

// SessionStore is the Redis session.Store. It is safe for concurrent use,
// also by replicas sharing the Redis.
type SessionStore struct {
	c    *Client
	opts session.StoreOptions
}

var _ session.Store = (*SessionStore)(nil)

// NewSessionStore returns the session store of c.
func NewSessionStore(c *Client, o session.StoreOptions) *SessionStore {
	return &SessionStore{c: c, opts: o.WithDefaults()}
}

type turnRecord struct {
	Role    string    `json:"role"`
	Content string    `json:"content"`
	Model   string    `json:"model,omitempty"`
	Tokens  int       `json:"tokens,omitempty"`
	At      time.Time `json:"at"`
}

func (s *SessionStore) keys(k session.Key) []string {
	base := "{" + s.c.Key("session", k.Tenant, k.ID) + "}"
	return []string{base + ":meta", base + ":turns"}
}

func (s *SessionStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	keys := s.keys(k)
	var meta *redis.MapStringStringCmd
	var list *redis.StringSliceCmd
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		meta = p.HGetAll(ctx, keys[0])
		list = p.LRange(ctx, keys[1], 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading session: %w", err)
	}
	m := meta.Val()
	expires, _ := strconv.ParseInt(m["expires"], 10, 64)
	if len(m) == 0 || expires <= s.opts.Now().UnixMilli() {
		return nil, session.ErrNotFound
	}
	out := &session.Session{Key: k, Summary: m["summary"]}
	out.SummaryThrough, _ = strconv.ParseInt(m["through"], 10, 64)
	if ms, err := strconv.ParseInt(m["updated"], 10, 64); err == nil {
		out.UpdatedAt = time.UnixMilli(ms)
	}
	for _, item := range list.Val() {
		seqText, js, ok := strings.Cut(item, "|")
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("loading session: malformed turn %.40q", item)
		}
		var t turnRecord
		if err := json.Unmarshal([]byte(js), &t); err != nil {
			return nil, fmt.Errorf("loading session: turn %d: %w", seq, err)
		}
		out.Turns = append(out.Turns, session.Turn{Seq: seq, Role: t.Role, Content: t.Content, Model: t.Model, Tokens: t.Tokens, At: t.At})
	}
	return out, nil
}

func (s *SessionStore) Append(ctx context.Context, k session.Key, turns ...session.Turn) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if len(turns) == 0 {
		return nil
	}
	now := s.opts.Now()
	args := make([]any, 0, 3+len(turns))
	args = append(args, now.UnixMilli(), now.Add(s.opts.TTL).UnixMilli(), s.opts.TTL.Milliseconds())
	for _, t := range turns {
		js, err := json.Marshal(turnRecord{Role: t.Role, Content: t.Content, Model: t.Model, Tokens: t.Tokens, At: t.At})
		if err != nil {
			return err
		}
		args = append(args, js)
	}
	if err := appendScript.Run(ctx, s.c.rdb, s.keys(k), args...).Err(); err != nil {
		return fmt.Errorf("appending to session: %w", err)
	}
	return nil
}

func (s *SessionStore) Fold(ctx context.Context, k session.Key, f session.Fold) error {
	if err := k.Validate(); err != nil {
		return err
	}
	res, err := foldScript.Run(ctx, s.c.rdb, s.keys(k), s.opts.Now().UnixMilli(), f.From, f.Through, f.Summary).Int64Slice()
	if err != nil {
		return fmt.Errorf("folding session: %w", err)
	}
	if len(res) != 3 {
		return errors.New("folding session: unexpected reply")
	}
	switch res[0] {
	case 0:
		return nil
	case -1:
		return session.ErrNotFound
	default:
		return session.CheckFold(f, res[1], res[2])
	}
}

func (s *SessionStore) Delete(ctx context.Context, k session.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := s.c.rdb.Del(ctx, s.keys(k)...).Err(); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}
