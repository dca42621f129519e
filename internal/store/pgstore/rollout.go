package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cato-gateway/cato/internal/rollout"
)

// flagChannel is the LISTEN/NOTIFY channel of rollout changes; the payload
// is the new version.
const flagChannel = "cato_rollout"

// watchHealth is how long a LISTEN connection may stay silent before Watch
// checks it with a query (which must answer within the same time).
// Meanwhile Poller's polling carries changes.
const watchHealth = 5 * time.Second

// FlagStore is the PostgreSQL rollout.FlagStore, on the tables of
// migrations/0002_rollout.sql, shared by every replica using the database.
// Set is one transaction that bumps the counter row (whose lock orders
// versions across replicas), inserts the flag, trims the history and
// NOTIFYs, which PostgreSQL delivers on commit. It is safe for concurrent
// use.
//
// PostgreSQL text cannot hold NUL: Set stores NUL bytes and invalid UTF-8
// in Actor, Reason and Ref as U+FFFD, and returns the flag as stored.
type FlagStore struct {
	db *DB
}

var _ rollout.FlagStore = (*FlagStore)(nil)

// NewFlagStore returns the rollout flag store of db.
func NewFlagStore(db *DB) *FlagStore { return &FlagStore{db: db} }

const flagColumns = `version, percentage, source, actor, reason, at, ref`

func scanFlag(row pgx.Row) (rollout.Flag, error) {
	var f rollout.Flag
	var source string
	err := row.Scan(&f.Version, &f.Percentage, &source, &f.Actor, &f.Reason, &f.At, &f.Ref)
	f.Source = rollout.Source(source)
	return f, err
}

// Get implements rollout.FlagStore.
func (s *FlagStore) Get(ctx context.Context) (rollout.Flag, error) {
	f, err := scanFlag(s.db.pool.QueryRow(ctx, `SELECT `+flagColumns+` FROM cato_rollout_flags ORDER BY version DESC LIMIT 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		return rollout.Flag{}, rollout.ErrNoFlag
	}
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("reading rollout flag: %w", err)
	}
	return f, nil
}

func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Set implements rollout.FlagStore.
func (s *FlagStore) Set(ctx context.Context, f rollout.Flag) (rollout.Flag, error) {
	if f.At.IsZero() {
		f.At = time.Now()
	}
	// As timestamptz keeps it: microseconds, no monotonic reading.
	f.At = f.At.Round(0).Truncate(time.Microsecond)
	f.Actor, f.Reason, f.Ref = cleanText(f.Actor), cleanText(f.Reason), cleanText(f.Ref)
	f.Source = rollout.Source(cleanText(string(f.Source)))
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `UPDATE cato_rollout_version SET version = version + 1 RETURNING version`).Scan(&f.Version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cato_rollout_flags (`+flagColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			f.Version, f.Percentage, string(f.Source), f.Actor, f.Reason, f.At, f.Ref); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cato_rollout_flags WHERE version <= $1`, f.Version-rollout.HistoryLimit); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, flagChannel, fmt.Sprint(f.Version))
		return err
	})
	if err != nil {
		return rollout.Flag{}, fmt.Errorf("storing rollout flag: %w", err)
	}
	return f, nil
}

// History implements rollout.FlagStore.
func (s *FlagStore) History(ctx context.Context, limit int) ([]rollout.Flag, error) {
	if limit <= 0 {
		limit = rollout.HistoryLimit
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+flagColumns+` FROM cato_rollout_flags ORDER BY version DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("reading rollout history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rollout.Flag, error) { return scanFlag(r) })
	if err != nil {
		return nil, fmt.Errorf("reading rollout history: %w", err)
	}
	if out == nil {
		out = []rollout.Flag{}
	}
	return out, nil
}

// Watch implements rollout.FlagStore: it takes a connection of the pool
// for as long as ctx lives and LISTENs on it. It returns an error when the
// LISTEN fails. The channel is closed when ctx is done, or when the
// connection breaks or stops answering (within 2×watchHealth); the
// connection is then closed, not returned to the pool. Poller subscribes
// again on its next tick and polls meanwhile.
func (s *FlagStore) Watch(ctx context.Context) (<-chan struct{}, error) {
	conn, err := s.db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listening for rollout changes: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+flagChannel); err != nil {
		discardConn(conn)
		return nil, fmt.Errorf("listening for rollout changes: %w", err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		defer discardConn(conn)
		s.relay(ctx, conn.Conn(), ch)
	}()
	return ch, nil
}

// relay turns notifications on conn into values on ch until ctx is done or
// the connection fails.
func (s *FlagStore) relay(ctx context.Context, conn *pgx.Conn, ch chan<- struct{}) {
	for {
		wctx, cancel := context.WithTimeout(ctx, watchHealth)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed() {
			// Silence: check that the connection still answers.
			pctx, cancel := context.WithTimeout(ctx, watchHealth)
			_, err = conn.Exec(pctx, "SELECT 1")
			cancel()
			if err == nil {
				continue
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				s.db.log.Warn("rollout change feed broke; polling until it is back", slog.Any("err", err))
			}
			return
		}
		select {
		case ch <- struct{}{}:
		default: // one pending notification is enough
		}
	}
}

// closeConn closes a connection that LISTENed, so that the pool drops it
// rather than hand it, still listening, to another caller.
// discardConn closes a pooled connection so that the pool drops it rather
// than reuse one that was listening.
func discardConn(conn *pgxpool.Conn) {
	closeConn(conn.Conn())
	conn.Release()
}
