package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults applied when the URL does not set the parameter. They make a
// Redis that is down fail a call in about a second rather than hang it.
const (
	defaultDialTimeout = time.Second
	defaultIOTimeout   = time.Second
	defaultPoolTimeout = time.Second
	// DefaultPrefix starts every key Cato writes.
	DefaultPrefix = "cato:"
)

// Options configure Open.
type Options struct {
	// Redis is the client's configuration.
	Redis *redis.Options
	// Prefix starts every key, so that several deployments can share one
	// Redis database. Default DefaultPrefix.
	Prefix string
}

// ParseURL parses redis://[user:password@]host[:port][/db][?params] or
// rediss:// (TLS). Parameters are go-redis's (dial_timeout, read_timeout,
// write_timeout, pool_size, max_retries, client_name, …; see
// redis.ParseURL) plus prefix (the key prefix, default "cato:"). Unknown
// parameters are an error.
//
// Unless the URL sets them: dial, read, write and pool timeouts are 1s, and
// max_retries is -1 (no retries), because retrying an append whose reply
// was lost could store a turn twice.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, err
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return Options{}, fmt.Errorf("scheme %q is not redis or rediss", u.Scheme)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return Options{}, errors.New("redis URL with a fragment or without //")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Options{}, fmt.Errorf("parameters: %w", err)
	}
	o := Options{Prefix: DefaultPrefix}
	if vs, ok := q["prefix"]; ok {
		if len(vs) != 1 {
			return Options{}, fmt.Errorf("parameter prefix given %d times", len(vs))
		}
		o.Prefix = vs[0]
		q.Del("prefix")
	}
	u.RawQuery = q.Encode()
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		return Options{}, err
	}
	if !q.Has("dial_timeout") {
		ro.DialTimeout = defaultDialTimeout
	}
	if !q.Has("read_timeout") {
		ro.ReadTimeout = defaultIOTimeout
	}
	if !q.Has("write_timeout") {
		ro.WriteTimeout = defaultIOTimeout
	}
	if !q.Has("pool_timeout") {
		ro.PoolTimeout = defaultPoolTimeout
	}
	if !q.Has("max_retries") {
		ro.MaxRetries = -1
	}
	// A call's context deadline (session.MemoryOptions.Timeout) bounds its
	// network I/O too.
	ro.ContextTimeoutEnabled = true
	o.Redis = ro
	return o, nil
}

// Client is an open connection pool to Redis, shared by the per-kind stores
// built on it. It is safe for concurrent use.
type Client struct {
	rdb    *redis.Client
	prefix string
	log    *slog.Logger
}

// Open connects to Redis and checks that it answers.
func Open(ctx context.Context, o Options, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Redis == nil {
		return nil, errors.New("redis options missing")
	}
	c := &Client{rdb: redis.NewClient(o.Redis), prefix: o.Prefix, log: log}
	if err := c.Ping(ctx); err != nil {
		c.rdb.Close()
		return nil, fmt.Errorf("connecting to redis at %s: %w", o.Redis.Addr, err)
	}
	return c, nil
}

// Redis returns the go-redis client, for stores of this package.
func (c *Client) Redis() *redis.Client { return c.rdb }

// Key returns the prefixed key built from parts, each escaped so that no
// part can be mistaken for a separator or a hash tag: Key("session", t, id)
// is "cato:session:" + escape(t) + ":" + escape(id).
func (c *Client) Key(parts ...string) string {
	var b strings.Builder
	b.WriteString(c.prefix)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(url.QueryEscape(p))
	}
	return b.String()
}

// Ping checks that Redis answers.
func (c *Client) Ping(ctx context.Context) error { return c.rdb.Ping(ctx).Err() }

// Close closes the connections.
func (c *Client) Close() error { return c.rdb.Close() }
