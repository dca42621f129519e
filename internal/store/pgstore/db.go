package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// VectorMode says whether Open enables pgvector.
type VectorMode int

const (
	// VectorAuto enables pgvector when the server has it (the default).
	VectorAuto VectorMode = iota
	// VectorOff never uses pgvector; vectors are searched in process.
	VectorOff
	// VectorRequire fails Open when the server lacks pgvector.
	VectorRequire
)

// defaultConnectTimeout bounds opening a connection unless the URL sets
// connect_timeout, so that a database that is down fails calls quickly.
const defaultConnectTimeout = 2 * time.Second

// Options configure Open.
type Options struct {
	// Pool is pgxpool's configuration.
	Pool *pgxpool.Config
	// Vector says whether to enable pgvector. Default VectorAuto.
	Vector VectorMode
}

// knownParams are the URL parameters ParseURL accepts: libpq's that pgx
// understands, pgx's and pgxpool's own, a few run-time settings, and
// Cato's vector.
var knownParams = map[string]bool{
	// libpq connection parameters
	"host": true, "port": true, "dbname": true, "database": true, "user": true, "password": true,
	"passfile": true, "connect_timeout": true, "sslmode": true, "sslkey": true, "sslcert": true,
	"sslcertmode": true, "sslrootcert": true, "sslnegotiation": true, "sslpassword": true, "sslsni": true,
	"krbspn": true, "krbsrvname": true, "target_session_attrs": true, "service": true, "servicefile": true,
	"min_protocol_version": true, "max_protocol_version": true, "channel_binding": true, "require_auth": true,
	// pgx
	"statement_cache_capacity": true, "description_cache_capacity": true, "default_query_exec_mode": true,
	// pgxpool
	"pool_max_conns": true, "pool_min_conns": true, "pool_min_idle_conns": true,
	"pool_max_conn_lifetime": true, "pool_max_conn_lifetime_jitter": true, "pool_max_conn_idle_time": true,
	"pool_health_check_period": true, "pool_ping_timeout": true,
	// run-time settings sent to the server
	"application_name": true, "search_path": true, "timezone": true, "options": true,
	"statement_timeout": true, "lock_timeout": true, "idle_in_transaction_session_timeout": true,
}

// ParseURL parses postgres://[user[:password]@]host[:port]/dbname[?params]
// (or postgresql://). Parameters are libpq's connection parameters that pgx
// supports (sslmode, connect_timeout, …), pgx's (default_query_exec_mode,
// statement_cache_capacity, …), pgxpool's (pool_max_conns, …), the run-time
// settings application_name, search_path, timezone, options,
// statement_timeout, lock_timeout and idle_in_transaction_session_timeout,
// and vector=auto|off|require. Any other parameter is an error, unlike pgx,
// which would send it to the server as a setting. connect_timeout defaults
// to 2s.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, err
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return Options{}, fmt.Errorf("scheme %q is not postgres or postgresql", u.Scheme)
	}
	if u.Fragment != "" || u.Opaque != "" {
		return Options{}, errors.New("postgres URL with a fragment or without //")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Options{}, fmt.Errorf("parameters: %w", err)
	}
	var o Options
	for k, vs := range q {
		if len(vs) != 1 {
			return Options{}, fmt.Errorf("parameter %s given %d times", k, len(vs))
		}
		if k == "vector" {
			switch vs[0] {
			case "auto":
				o.Vector = VectorAuto
			case "off":
				o.Vector = VectorOff
			case "require":
				o.Vector = VectorRequire
			default:
				return Options{}, fmt.Errorf("vector=%q: want auto, off or require", vs[0])
			}
			continue
		}
		if !knownParams[k] {
			return Options{}, fmt.Errorf("unknown parameter %q", k)
		}
	}
	q.Del("vector")
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return Options{}, err
	}
	if !q.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	o.Pool = cfg
	return o, nil
}

// DB is an open PostgreSQL connection pool, shared by the per-kind stores
// built on it. It is safe for concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	vector bool
	log    *slog.Logger
}

// Open connects, applies pending migrations and enables pgvector where
// possible. It fails if the database cannot be reached.
func Open(ctx context.Context, o Options, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Pool == nil {
		return nil, errors.New("postgres options missing")
	}
	pool, err := pgxpool.NewWithConfig(ctx, o.Pool)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", err)
	}
	vector, err := migrate(ctx, pool, migrationFiles, o.Vector, log)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("preparing postgres database %s at %s: %w", o.Pool.ConnConfig.Database, o.Pool.ConnConfig.Host, err)
	}
	return &DB{pool: pool, vector: vector, log: log}, nil
}

// Pool returns the connection pool, for stores of this package.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// HasVector reports whether pgvector is installed in the database, so that
// stores can keep and search embeddings in SQL.
func (db *DB) HasVector() bool { return db.vector }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Close closes the pool, waiting for connections in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}
