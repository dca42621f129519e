package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/redact"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
)

// Kind names a backend.
type Kind string

// Backends, by URL scheme.
const (
	Embedded Kind = "embedded" // embedded://PATH
	Redis    Kind = "redis"    // redis:// or rediss://
	Postgres Kind = "postgres" // postgres:// or postgresql://
	Dynamo   Kind = "dynamodb" // dynamodb://TABLE
)

// Location is a parsed store URL: its Kind and the options of that
// backend (exactly one of them is set).
type Location struct {
	Kind     Kind
	Embedded embedded.Options
	Redis    redisstore.Options
	Postgres pgstore.Options
	Dynamo   dynamostore.Options
}

// ParseURL parses a store URL strictly: an unknown scheme or parameter is
// an error. The forms and parameters are documented by embedded.ParseURL,
// redisstore.ParseURL, pgstore.ParseURL and dynamostore.ParseURL.
func ParseURL(raw string) (Location, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return Location{}, fmt.Errorf("store URL %q: want embedded://PATH, redis://HOST:PORT/DB, postgres://HOST/DB or dynamodb://TABLE?region=REGION", redact.URL(raw))
	}
	var (
		loc Location
		err error
	)
	switch scheme {
	case "embedded":
		loc.Kind = Embedded
		loc.Embedded, err = embedded.ParseURL(raw)
	case "redis", "rediss":
		loc.Kind = Redis
		loc.Redis, err = redisstore.ParseURL(raw)
	case "postgres", "postgresql":
		loc.Kind = Postgres
		loc.Postgres, err = pgstore.ParseURL(raw)
	case "dynamodb":
		loc.Kind = Dynamo
		loc.Dynamo, err = dynamostore.ParseURL(raw)
	default:
		return Location{}, fmt.Errorf("store URL %q: unknown scheme %q (want embedded, redis, rediss, postgres, postgresql or dynamodb)", redact.URL(raw), scheme)
	}
	if err != nil {
		return Location{}, fmt.Errorf("store URL %q: %w", redact.URL(raw), err)
	}
	return loc, nil
}

// Backend is an open store backend. Exactly one of its handles is set,
// according to Kind; the methods that return stores (Sessions…) build them
// on it. A Backend is safe for concurrent use.
//
// Features add a method per store they need, next to Sessions, switching on
// the same handles.
type Backend struct {
	kind     Kind
	embedded *embedded.DB
	redis    *redisstore.Client
	postgres *pgstore.DB
	dynamo   *dynamostore.DB
}

// Open parses rawURL and opens the backend: it creates the embedded file,
// or connects to Redis, or connects to PostgreSQL and applies migrations,
// or reaches DynamoDB and creates its table when missing.
// It fails when the server cannot be reached.
func Open(ctx context.Context, rawURL string, log *slog.Logger) (*Backend, error) {
	loc, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return OpenLocation(ctx, loc, log)
}

// OpenLocation opens a parsed store URL.
func OpenLocation(ctx context.Context, loc Location, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("store", string(loc.Kind)))
	b := &Backend{kind: loc.Kind}
	var err error
	switch loc.Kind {
	case Embedded:
		b.embedded, err = embedded.Open(loc.Embedded)
	case Redis:
		b.redis, err = redisstore.Open(ctx, loc.Redis, log)
	case Postgres:
		b.postgres, err = pgstore.Open(ctx, loc.Postgres, log)
	case Dynamo:
		b.dynamo, err = dynamostore.Open(ctx, loc.Dynamo, log)
	default:
		err = fmt.Errorf("unknown store kind %q", loc.Kind)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Kind returns the backend's kind.
func (b *Backend) Kind() Kind { return b.kind }

// EmbeddedDB returns the embedded database, or nil for another kind.
func (b *Backend) EmbeddedDB() *embedded.DB { return b.embedded }

// RedisClient returns the Redis client, or nil for another kind.
func (b *Backend) RedisClient() *redisstore.Client { return b.redis }

// PostgresDB returns the PostgreSQL database, or nil for another kind.
func (b *Backend) PostgresDB() *pgstore.DB { return b.postgres }

// DynamoDB returns the DynamoDB table, or nil for another kind.
func (b *Backend) DynamoDB() *dynamostore.DB { return b.dynamo }

// Sessions returns the session store of the backend; o.TTL is
// config.Session.TTL. Stores are cheap: they share the backend's
// connections.
func (b *Backend) Sessions(o session.StoreOptions) session.Store {
	switch {
	case b.embedded != nil:
		return embedded.NewSessionStore(b.embedded, o)
	case b.redis != nil:
		return redisstore.NewSessionStore(b.redis, o)
	case b.dynamo != nil:
		return dynamostore.NewSessionStore(b.dynamo, o)
	default:
		return pgstore.NewSessionStore(b.postgres, o)
	}
}

// Keys returns the client key store of the backend: keys created through
// the admin API, their counters and their revocations.
func (b *Backend) Keys() keys.Store {
	switch {
	case b.embedded != nil:
		return embedded.NewKeyStore(b.embedded)
	case b.redis != nil:
		return redisstore.NewKeyStore(b.redis)
	case b.postgres != nil:
		return pgstore.NewKeyStore(b.postgres)
	case b.dynamo != nil:
		return dynamostore.NewKeyStore(b.dynamo)
	}
	panic("store: Keys of a backend that is not open")
}

// Ping checks that the backend answers (for /health and /status).
func (b *Backend) Ping(ctx context.Context) error {
	switch {
	case b.embedded != nil:
		return b.embedded.Ping(ctx)
	case b.redis != nil:
		return b.redis.Ping(ctx)
	case b.postgres != nil:
		return b.postgres.Ping(ctx)
	case b.dynamo != nil:
		return b.dynamo.Ping(ctx)
	}
	return errors.New("store not open")
}

// Close releases the backend. Stores built on it fail afterwards.
func (b *Backend) Close() error {
	switch {
	case b.embedded != nil:
		return b.embedded.Close()
	case b.redis != nil:
		return b.redis.Close()
	case b.postgres != nil:
		return b.postgres.Close()
	case b.dynamo != nil:
		return b.dynamo.Close()
	}
	return nil
}
