package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// CacheStore is the PostgreSQL cache.Store, on the table of
// migrations/0003_cache.sql, shared by every replica on the database.
//
// The change feed is LISTEN/NOTIFY on cato_cache_channel(). Each write
// notifies in its own transaction, so watchers hear changes in commit
// order: "p" + ID for a Put (a notification holds at most 8000 bytes, too
// few for an entry: the watcher reads the row), "d" + a JSON array of IDs
// for deletions, "u" + a JSON filter for a purge. PostgreSQL keeps nothing
// for a listener that is away: when the connection of a Watch fails, its
// channel is closed and the cache re-subscribes and lists again.
//
// Times are stored to the microsecond. Expired rows are skipped by List
// and the feed, and deleted a few at a time by later Puts. It is safe for
// concurrent use.
type CacheStore struct {
	db  *DB
	now func() time.Time
	// keepalive is how long a watcher waits for a notification before it
	// pings the server, and how long the ping may take.
	keepalive time.Duration
}

var _ cache.Store = (*CacheStore)(nil)

// defaultKeepalive bounds how long a dead feed connection goes unnoticed:
// two keepalives.
const defaultKeepalive = 5 * time.Second

// NewCacheStore returns the cache store of db; now is its clock (nil:
// time.Now), which decides what has expired.
func NewCacheStore(db *DB, now func() time.Time) *CacheStore {
	if now == nil {
		now = time.Now
	}
	return &CacheStore{db: db, now: now, keepalive: defaultKeepalive}
}

// cacheSweepPerPut is how many expired rows each Put deletes, so that the
// table stays bounded by the live entries without a background sweeper.
const cacheSweepPerPut = 8

const (
	cacheColumns = `id, tenant, model, system, domain, query, answer, answer_model,
	prompt_tokens, completion_tokens, created_at, expires_at, session_id, vector`
	cacheSweepSQL = `DELETE FROM cato_cache_entries WHERE id IN (
	SELECT id FROM cato_cache_entries WHERE expires_at <= $1 AND id <> $2 LIMIT $3)`
	cachePutSQL = `
WITH up AS (
  INSERT INTO cato_cache_entries AS e (` + cacheColumns + `)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
  ON CONFLICT (id) DO UPDATE SET
    tenant = EXCLUDED.tenant, model = EXCLUDED.model, system = EXCLUDED.system, domain = EXCLUDED.domain,
    query = EXCLUDED.query, answer = EXCLUDED.answer, answer_model = EXCLUDED.answer_model,
    prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,
    created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
    session_id = EXCLUDED.session_id, vector = EXCLUDED.vector
  RETURNING id)
SELECT pg_notify(cato_cache_channel(), 'p' || id) FROM up`
)

// nullTime maps the zero time to NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Put stores e and deletes a few expired entries, in one transaction.
func (s *CacheStore) Put(ctx context.Context, e cache.Entry) error {
	b := &pgx.Batch{}
	b.Queue(cacheSweepSQL, s.now(), e.ID, cacheSweepPerPut)
	b.Queue(cachePutSQL, e.ID, e.Scope.Tenant, e.Scope.Model, e.Scope.System, e.Scope.Domain,
		e.Query, e.Answer, e.Model, e.Usage.PromptTokens, e.Usage.CompletionTokens,
		nullTime(e.CreatedAt), nullTime(e.ExpiresAt), e.SessionID, cachecodec.EncodeVector(e.Vector))
	if err := s.db.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("storing cache entry: %w", err)
	}
	return nil
}

// notifyIDs is how many IDs one deletion notification carries: 100 IDs
// of 32 hex digits take 3.5 kB of the 8000 bytes a payload may hold.
const notifyIDs = 100

// deleteWhere deletes the rows cond (with args) selects, and announces
// their IDs, in one transaction.
func (s *CacheStore) deleteWhere(ctx context.Context, cond string, args ...any) ([]string, error) {
	var gone []string
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "DELETE FROM cato_cache_entries WHERE "+cond+" RETURNING id", args...)
		if err != nil {
			return err
		}
		gone, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for i := 0; i < len(gone); i += notifyIDs {
			js, _ := json.Marshal(gone[i:min(i+notifyIDs, len(gone))])
			if _, err := tx.Exec(ctx, "SELECT pg_notify(cato_cache_channel(), $1)", "d"+string(js)); err != nil {
				return err
			}
		}
		return nil
	})
	return gone, err
}

// Delete removes ids.
func (s *CacheStore) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.deleteWhere(ctx, "id = ANY($1)", ids); err != nil {
		return fmt.Errorf("deleting cache entries: %w", err)
	}
	return nil
}

// DeleteBySession removes the entries of session sessionID of tenant.
func (s *CacheStore) DeleteBySession(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	gone, err := s.deleteWhere(ctx, "session_id = $1 AND tenant = $2", sessionID, tenant)
	if err != nil {
		return nil, fmt.Errorf("deleting cache entries of session %s: %w", sessionID, err)
	}
	return gone, nil
}

// purgeNote is the JSON of a purge notification.
type purgeNote struct {
	Tenant string `json:"tenant,omitempty"`
	Model  string `json:"model,omitempty"`
}

// Purge removes the entries f matches.
func (s *CacheStore) Purge(ctx context.Context, f cache.Filter) (int, error) {
	if f == (cache.Filter{}) {
		return 0, cache.ErrEmptyFilter
	}
	js, _ := json.Marshal(purgeNote{Tenant: f.Tenant, Model: f.Model})
	n := 0
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM cato_cache_entries
			WHERE ($1 = '' OR tenant = $1) AND ($2 = '' OR model = $2 OR answer_model = $2)`, f.Tenant, f.Model)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, "SELECT pg_notify(cato_cache_channel(), $1)", "u"+string(js))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purging cache entries: %w", err)
	}
	return n, nil
}

// scanEntry reads a row of cacheColumns.
func scanEntry(row pgx.CollectableRow) (cache.Entry, error) {
	var (
		e                cache.Entry
		created, expires *time.Time
		prompt, compl    int32
		vec              []byte
	)
	err := row.Scan(&e.ID, &e.Scope.Tenant, &e.Scope.Model, &e.Scope.System, &e.Scope.Domain,
		&e.Query, &e.Answer, &e.Model, &prompt, &compl, &created, &expires, &e.SessionID, &vec)
	if err != nil {
		return cache.Entry{}, err
	}
	e.Usage = llm.Usage{PromptTokens: int(prompt), CompletionTokens: int(compl)}
	if created != nil {
		e.CreatedAt = *created
	}
	if expires != nil {
		e.ExpiresAt = *expires
	}
	if e.Vector, err = cachecodec.DecodeVector(vec); err != nil {
		return cache.Entry{}, fmt.Errorf("entry %s: %w", e.ID, err)
	}
	return e, nil
}

// listBatch is how many rows List reads per query, so that a long warm
// start holds no snapshot open.
const listBatch = 1000

// List calls fn for every live entry, in pages by ID.
func (s *CacheStore) List(ctx context.Context, fn func(cache.Entry) error) error {
	after := ""
	for {
		rows, err := s.db.pool.Query(ctx, `SELECT `+cacheColumns+` FROM cato_cache_entries
			WHERE id > $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY id LIMIT $3`, after, s.now(), listBatch)
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		page, err := pgx.CollectRows(rows, scanEntry)
		if err != nil {
			return fmt.Errorf("listing cache entries: %w", err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(page) < listBatch {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// feedBuffer is how many changes a watcher's channel holds before the
// feed stops reading notifications (PostgreSQL queues them meanwhile).
const feedBuffer = 1024

// Watch listens on the change feed, on a connection taken out of the pool
// for it. It returns once LISTEN has run, so every change committed
// afterwards arrives.
func (s *CacheStore) Watch(ctx context.Context) (<-chan cache.Change, error) {
	pc, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("watching the cache store: %w", err)
	}
	conn := pc.Hijack()
	var channel string
	err = conn.QueryRow(ctx, "SELECT cato_cache_channel()").Scan(&channel)
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
	}
	if err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("watching the cache store: %w", err)
	}
	out := make(chan cache.Change, feedBuffer)
	go s.feed(ctx, conn, out)
	return out, nil
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// feed passes the notifications of conn to out until ctx is done or conn
// fails, then closes both. It is the one user of conn.
func (s *CacheStore) feed(ctx context.Context, conn *pgx.Conn, out chan<- cache.Change) {
	defer close(out)
	defer closeConn(conn)
	for {
		wait, cancel := context.WithTimeout(ctx, s.keepalive)
		n, err := conn.WaitForNotification(wait)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if pgconn.Timeout(err) {
				ping, cancel := context.WithTimeout(ctx, s.keepalive)
				err = conn.Ping(ping)
				cancel()
				if err == nil {
					continue
				}
			}
			s.db.log.Warn("cache: change feed lost; the cache will list the store again", slog.Any("err", err))
			return
		}
		c, ok, err := s.change(ctx, n.Payload)
		if err != nil {
			// A change this replica cannot read may be one it needed:
			// closing makes the cache list the store again.
			s.db.log.Warn("cache: change feed failed", slog.Any("err", err))
			return
		}
		if !ok {
			continue
		}
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
	}
}

// change decodes a notification; ok is false for a put of an entry that
// is gone or expired (a later notification says why).
func (s *CacheStore) change(ctx context.Context, payload string) (c cache.Change, ok bool, err error) {
	kind, body := payload[:min(1, len(payload))], payload[min(1, len(payload)):]
	switch kind {
	case "p":
		rows, err := s.db.pool.Query(ctx, `SELECT `+cacheColumns+` FROM cato_cache_entries WHERE id = $1`, body)
		if err != nil {
			return c, false, fmt.Errorf("reading entry %s: %w", body, err)
		}
		e, err := pgx.CollectExactlyOneRow(rows, scanEntry)
		if errors.Is(err, pgx.ErrNoRows) {
			return c, false, nil
		}
		if err != nil {
			return c, false, fmt.Errorf("reading entry %s: %w", body, err)
		}
		if !e.ExpiresAt.IsZero() && !s.now().Before(e.ExpiresAt) {
			return c, false, nil
		}
		return cache.Change{Op: cache.OpPut, Entry: e}, true, nil
	case "d":
		var ids []string
		if err := json.Unmarshal([]byte(body), &ids); err != nil {
			return c, false, fmt.Errorf("decoding %.40q: %w", payload, err)
		}
		return cache.Change{Op: cache.OpDelete, IDs: ids}, true, nil
	case "u":
		var f purgeNote
		if err := json.Unmarshal([]byte(body), &f); err != nil || (f == purgeNote{}) {
			return c, false, fmt.Errorf("decoding %.40q: not a purge filter", payload)
		}
		return cache.Change{Op: cache.OpPurge, Filter: cache.Filter{Tenant: f.Tenant, Model: f.Model}}, true, nil
	}
	return c, false, fmt.Errorf("unknown notification %.40q", strings.ToValidUTF8(payload, "?"))
}
