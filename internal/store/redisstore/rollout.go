package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/rollout"
)

// The rollout flag is three keys in one hash slot and a pub/sub channel:
//
//	{cato:rollout}:version  the last version given (INCR)
//	{cato:rollout}:current  the current flag, "VERSION|JSON"
//	{cato:rollout}:history  list of "VERSION|JSON", newest first, capped at
//	                        rollout.HistoryLimit
//	cato:rollout:changed    channel; each Set publishes its version
//
// The JSON is the Flag without its version; the version is the prefix, so
// the script never parses JSON.

// setFlagScript gives the flag the next version, makes it current, appends
// it to the history, trims the history and publishes the change, in one
// atomic step. KEYS: version, current, history. ARGV: flag JSON, history
// limit, channel. Returns the version.
var setFlagScript = redis.NewScript(`
local v = redis.call('INCR', KEYS[1])
local entry = tostring(v) .. '|' .. ARGV[1]
redis.call('SET', KEYS[2], entry)
redis.call('LPUSH', KEYS[3], entry)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[2]) - 1)
redis.call('PUBLISH', ARGV[3], v)
return v
`)

// watchHealth is how long a subscription may stay silent before Watch
// pings it, and how long it waits for the answer before it declares the
// subscription broken. Meanwhile Poller's polling carries changes.
const watchHealth = 5 * time.Second

// FlagStore is the Redis rollout.FlagStore, shared by every replica that
// uses the same Redis and prefix. Set is one Lua script, which orders
// versions across replicas and publishes the change; Watch subscribes to
// that channel. It is safe for concurrent use.
type FlagStore struct {
	c       *Client
	keys    []string // version, current, history
	channel string
	log     *slog.Logger
}

var _ rollout.FlagStore = (*FlagStore)(nil)

// NewFlagStore returns the rollout flag store of c.
func NewFlagStore(c *Client) *FlagStore {
	base := "{" + c.Key("rollout") + "}"
	return &FlagStore{
		c:       c,
		keys:    []string{base + ":version", base + ":current", base + ":history"},
		channel: c.Key("rollout", "changed"),
		log:     c.log,
	}
}

// flagRecord is a Flag as stored, without its version.
type flagRecord struct {
	Percentage float64        `json:"percentage"`
	Source     rollout.Source `json:"source"`
	Actor      string         `json:"actor,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	At         time.Time      `json:"at"`
	Ref        string         `json:"ref,omitempty"`
}

func parseEntry(entry string) (rollout.Flag, error) {
	vText, js, ok := strings.Cut(entry, "|")
	v, err := strconv.ParseInt(vText, 10, 64)
	if !ok || err != nil {
		return rollout.Flag{}, fmt.Errorf("malformed rollout entry %.40q", entry)
	}
	var r flagRecord
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		return rollout.Flag{}, fmt.Errorf("rollout entry %d: %w", v, err)
	}
	return rollout.Flag{Percentage: r.Percentage, Version: v, Source: r.Source, Actor: r.Actor, Reason: r.Reason, At: r.At, Ref: r.Ref}, nil
}

// Get implements rollout.FlagStore.
func (s *FlagStore) Get(ctx context.Context) (rollout.Flag, error) {
	entry, err := s.c.rdb.Get(ctx, s.keys[1]).Result()
	if errors.Is(err, redis.Nil) {
		return rollout.Flag{}, rollout.ErrNoFlag
	}
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	f, err := parseEntry(entry)
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	return f, nil
}

// Set implements rollout.FlagStore. With no retries (the default of
// ParseURL), a Set whose reply is lost may or may not have been applied;
// the caller sees an error and the history tells.
func (s *FlagStore) Set(ctx context.Context, f rollout.Flag) (rollout.Flag, error) {
	if f.At.IsZero() {
		f.At = time.Now()
	}
	f.At = f.At.Round(0) // as JSON keeps it: no monotonic reading
	js, err := json.Marshal(flagRecord{Percentage: f.Percentage, Source: f.Source, Actor: f.Actor, Reason: f.Reason, At: f.At, Ref: f.Ref})
	if err != nil {
		return rollout.Flag{}, err
	}
	v, err := setFlagScript.Run(ctx, s.c.rdb, s.keys, js, rollout.HistoryLimit, s.channel).Int64()
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("storing rollout flag: %w", err)
	}
	f.Version = v
	return f, nil
}

// History implements rollout.FlagStore.
func (s *FlagStore) History(ctx context.Context, limit int) ([]rollout.Flag, error) {
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	entries, err := s.c.rdb.LRange(ctx, s.keys[2], 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("reading rollout history: %w", err)
	}
	out := make([]rollout.Flag, 0, len(entries))
	for _, e := range entries {
		f, err := parseEntry(e)
		if err != nil {
			return nil, fmt.Errorf("reading rollout history: %w", err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Watch implements rollout.FlagStore with a subscription to the change
// channel on a connection of its own. It returns an error when Redis does
// not confirm the subscription. The channel receives a value for every
// published change (coalesced while one is pending). It is closed when ctx
// is done, or when the connection breaks or stops answering pings (within
// 2×watchHealth); Poller then subscribes again on its next tick and polls
// meanwhile.
func (s *FlagStore) Watch(ctx context.Context) (<-chan struct{}, error) {
	ps := s.c.rdb.Subscribe(ctx) // no channels yet: Subscribe below reports errors
	if err := ps.Subscribe(ctx, s.channel); err != nil {
		ps.Close()
		return nil, fmt.Errorf("subscribing to rollout changes: %w", err)
	}
	confirm := s.c.rdb.Options().ReadTimeout
	if confirm <= 0 { // read_timeout=-1 or 0 in the URL: no read timeout
		confirm = watchHealth
	}
	msg, err := ps.ReceiveTimeout(ctx, confirm)
	if err == nil {
		if _, ok := msg.(*redis.Subscription); !ok {
			err = fmt.Errorf("unexpected %T before the subscription's confirmation", msg)
		}
	}
	if err != nil {
		ps.Close()
		return nil, fmt.Errorf("subscribing to rollout changes: %w", err)
	}
	ch := make(chan struct{}, 1)
	stop := context.AfterFunc(ctx, func() { ps.Close() }) // ends a blocked Receive
	go func() {
		defer close(ch)
		defer stop()
		defer ps.Close()
		s.relay(ctx, ps, ch)
	}()
	return ch, nil
}

// relay turns the subscription's messages into notifications on ch until
// ctx is done or the subscription breaks.
func (s *FlagStore) relay(ctx context.Context, ps *redis.PubSub, ch chan<- struct{}) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, watchHealth)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if !isTimeout(err) || pinged {
				s.log.Warn("rollout change feed broke; polling until it is back", slog.Any("err", err))
				return
			}
			if err := ps.Ping(ctx); err != nil {
				s.log.Warn("rollout change feed broke; polling until it is back", slog.Any("err", err))
				return
			}
			pinged = true
			continue
		}
		pinged = false
		if _, ok := msg.(*redis.Message); ok {
			select {
			case ch <- struct{}{}:
			default: // one pending notification is enough
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
