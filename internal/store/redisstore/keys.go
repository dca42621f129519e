package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/keys"
)

// Client keys are these Redis keys, under the client's prefix:
//
//	keys:rec:ID           the JSON keys.Key, written once
//	keys:hash:HASH        ID
//	keys:revoked:ID       when it was revoked (RFC 3339); set once (SETNX)
//	keys:ids              set of every ID
//	keys:w:ID:WINDOW      hash {r: requests, t: tokens} of one minute,
//	                      expiring two minutes after it is last counted
//	keys:spend:ID:PERIOD  spend in billionths of a dollar (INCRBY),
//	                      expiring 100 days after it is last counted
//
// Admit is one Lua script, so that the check and the count are one atomic
// step for every replica.

// windowTTL outlives a minute's window by one more minute, for answers
// that settle after it ended.
const windowTTL = 2 * time.Minute

// spendTTL outlives the longest budget period (a month) with room for the
// admin API to list last month's spend.
const spendTTL = 100 * 24 * time.Hour

// createKeyScript stores a key unless its id or hash is taken. KEYS: rec,
// hash, ids. ARGV: JSON, id. Returns 1 when stored, 0 when taken.
var createKeyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
`)

// admitScript is keys.Admission's rule in one atomic step. KEYS: window,
// spend. ARGV: tokens, rpm, tpm, budget, window TTL in seconds. Returns
// {refusal, requests, tokens, spent}, refusal as keys.Refusal numbers it.
var admitScript = redis.NewScript(`
local spent = tonumber(redis.call('GET', KEYS[2]) or '0')
local c = redis.call('HMGET', KEYS[1], 'r', 't')
local r, t = tonumber(c[1] or '0'), tonumber(c[2] or '0')
local tok, rpm, tpm, budget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if budget > 0 and spent >= budget then return {3, r, t, spent} end
if rpm > 0 and r >= rpm then return {1, r, t, spent} end
if tpm > 0 and t > 0 and t + tok > tpm then return {2, r, t, spent} end
r = redis.call('HINCRBY', KEYS[1], 'r', 1)
t = redis.call('HINCRBY', KEYS[1], 't', tok)
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {0, r, t, spent}
`)

// KeyStore is the Redis keys.Store, shared by every replica that uses the
// same Redis and prefix. It is safe for concurrent use.
type KeyStore struct {
	c *Client
}

var _ keys.Store = (*KeyStore)(nil)

// NewKeyStore returns the key store of c.
func NewKeyStore(c *Client) *KeyStore { return &KeyStore{c: c} }

// Create implements keys.Store.
func (s *KeyStore) Create(ctx context.Context, k keys.Key) error {
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	n, err := createKeyScript.Run(ctx, s.c.rdb, []string{s.c.Key("keys", "rec", k.ID), s.c.Key("keys", "hash", k.Hash), s.c.Key("keys", "ids")}, v, k.ID).Int()
	if err != nil {
		return fmt.Errorf("creating key: %w", err)
	}
	if n == 0 {
		return keys.ErrExists
	}
	return nil
}

// Lookup implements keys.Store.
func (s *KeyStore) Lookup(ctx context.Context, hash string) (keys.Key, error) {
	id, err := s.c.rdb.Get(ctx, s.c.Key("keys", "hash", hash)).Result()
	if errors.Is(err, redis.Nil) {
		return keys.Key{}, keys.ErrNotFound
	}
	if err != nil {
		return keys.Key{}, fmt.Errorf("looking up key: %w", err)
	}
	ks, err := s.read(ctx, []string{id})
	if err != nil {
		return keys.Key{}, err
	}
	if len(ks) == 0 {
		return keys.Key{}, keys.ErrNotFound
	}
	return ks[0], nil
}

// read returns the keys with ids, with their revocations, in one round
// trip; ids with no record are left out.
func (s *KeyStore) read(ctx context.Context, ids []string) ([]keys.Key, error) {
	pipe := s.c.rdb.Pipeline()
	recs := make([]*redis.StringCmd, len(ids))
	revs := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		recs[i] = pipe.Get(ctx, s.c.Key("keys", "rec", id))
		revs[i] = pipe.Get(ctx, s.c.Key("keys", "revoked", id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("reading keys: %w", err)
	}
	out := make([]keys.Key, 0, len(ids))
	for i := range ids {
		v, err := recs[i].Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		var k keys.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return nil, fmt.Errorf("decoding key: %w", err)
		}
		if r, err := revs[i].Result(); err == nil {
			if k.Revoked, err = time.Parse(time.RFC3339Nano, r); err != nil {
				return nil, fmt.Errorf("decoding revocation of key %s: %w", k.ID, err)
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// List implements keys.Store.
func (s *KeyStore) List(ctx context.Context) ([]keys.Key, error) {
	ids, err := s.c.rdb.SMembers(ctx, s.c.Key("keys", "ids")).Result()
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	out, err := s.read(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b keys.Key) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Revoke implements keys.Store.
func (s *KeyStore) Revoke(ctx context.Context, id string, at time.Time) error {
	n, err := s.c.rdb.Exists(ctx, s.c.Key("keys", "rec", id)).Result()
	if err != nil {
		return fmt.Errorf("revoking key: %w", err)
	}
	if n == 0 {
		return keys.ErrNotFound
	}
	if err := s.c.rdb.SetNX(ctx, s.c.Key("keys", "revoked", id), at.UTC().Format(time.RFC3339Nano), 0).Err(); err != nil {
		return fmt.Errorf("revoking key: %w", err)
	}
	return nil
}

// Admit implements keys.Store.
func (s *KeyStore) Admit(ctx context.Context, a keys.Admission) (keys.Verdict, error) {
	res, err := admitScript.Run(ctx, s.c.rdb,
		[]string{s.c.Key("keys", "w", a.ID, a.Window), s.c.Key("keys", "spend", a.ID, a.Period)},
		a.Tokens, a.RPM, a.TPM, a.BudgetNano, int(windowTTL/time.Second)).Int64Slice()
	if err != nil {
		return keys.Verdict{}, fmt.Errorf("admitting: %w", err)
	}
	if len(res) != 4 {
		return keys.Verdict{}, fmt.Errorf("admitting: the script answered %d values", len(res))
	}
	return keys.Verdict{Refused: keys.Refusal(res[0]), Requests: res[1], Tokens: res[2], SpentNano: res[3]}, nil
}

// Settle implements keys.Store.
func (s *KeyStore) Settle(ctx context.Context, st keys.Settlement) error {
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if st.Tokens != 0 {
			w := s.c.Key("keys", "w", st.ID, st.Window)
			p.HIncrBy(ctx, w, "t", st.Tokens)
			p.Expire(ctx, w, windowTTL)
		}
		if st.CostNano != 0 {
			sp := s.c.Key("keys", "spend", st.ID, st.Period)
			p.IncrBy(ctx, sp, st.CostNano)
			p.Expire(ctx, sp, spendTTL)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settling: %w", err)
	}
	return nil
}

// Spent implements keys.Store.
func (s *KeyStore) Spent(ctx context.Context, id, period string) (int64, error) {
	v, err := s.c.rdb.Get(ctx, s.c.Key("keys", "spend", id, period)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading spend: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}
