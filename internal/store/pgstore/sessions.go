package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cato-gateway/cato/internal/session"
)

// SessionStore is the PostgreSQL session.Store, on the tables of
// migrations/0001_sessions.sql. Append takes the session row's lock, which
// serialises concurrent appends in arrival order. It is safe for concurrent
// use, also by replicas sharing the database.
type SessionStore struct {
	db   *DB
	opts session.StoreOptions
}

var (
	_ session.Store   = (*SessionStore)(nil)
	_ session.Sweeper = (*SessionStore)(nil)
)

// NewSessionStore returns the session store of db.
func NewSessionStore(db *DB, o session.StoreOptions) *SessionStore {
	return &SessionStore{db: db, opts: o.WithDefaults()}
}

const loadSQL = `
SELECT s.summary, s.summary_through, s.updated_at, s.expires_at,
       t.seq, t.role, t.content, t.model, t.tokens, t.at
FROM cato_sessions s
LEFT JOIN cato_session_turns t ON t.tenant = s.tenant AND t.session_id = s.id
WHERE s.tenant = $1 AND s.id = $2
ORDER BY t.seq`

func (s *SessionStore) Load(ctx context.Context, k session.Key) (*session.Session, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	rows, err := s.db.pool.Query(ctx, loadSQL, k.Tenant, k.ID)
	if err != nil {
		return nil, fmt.Errorf("loading session: %w", err)
	}
	defer rows.Close()
	var out *session.Session
	var expires time.Time
	for rows.Next() {
		var (
			sess                 session.Session
			seq                  *int64
			role, content, model *string
			tokens               *int32
			at                   *time.Time
		)
		if err := rows.Scan(&sess.Summary, &sess.SummaryThrough, &sess.UpdatedAt, &expires,
			&seq, &role, &content, &model, &tokens, &at); err != nil {
			return nil, fmt.Errorf("loading session: %w", err)
		}
		if out == nil {
			sess.Key = k
			out = &sess
		}
		if seq != nil {
			out.Turns = append(out.Turns, session.Turn{Seq: *seq, Role: *role, Content: *content, Model: *model, Tokens: int(*tokens), At: *at})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading session: %w", err)
	}
	if out == nil || !s.opts.Now().Before(expires) {
		return nil, session.ErrNotFound
	}
	return out, nil
}

// The three statements of Append go in one batch: one round trip, one
// implicit transaction. The first drops an expired session so that the
// second starts it afresh; the second locks the row and takes the Seqs; the
// third reads them back from the locked row.
const (
	dropExpiredSQL = `DELETE FROM cato_sessions WHERE tenant = $1 AND id = $2 AND expires_at <= $3`
	upsertSQL      = `
INSERT INTO cato_sessions AS s (tenant, id, last_seq, updated_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant, id) DO UPDATE
SET last_seq = s.last_seq + EXCLUDED.last_seq, updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at`
	insertTurnsSQL = `
INSERT INTO cato_session_turns (tenant, session_id, seq, role, content, model, tokens, at)
SELECT s.tenant, s.id, s.last_seq - $3 + t.ord, t.role, t.content, t.model, t.tokens, t.at
FROM cato_sessions s,
     unnest($4::text[], $5::text[], $6::text[], $7::integer[], $8::timestamptz[])
       WITH ORDINALITY AS t(role, content, model, tokens, at, ord)
WHERE s.tenant = $1 AND s.id = $2`
)

func (s *SessionStore) Append(ctx context.Context, k session.Key, turns ...session.Turn) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if len(turns) == 0 {
		return nil
	}
	n := len(turns)
	roles, contents, models := make([]string, n), make([]string, n), make([]string, n)
	tokens, ats := make([]int32, n), make([]time.Time, n)
	for i, t := range turns {
		roles[i], contents[i], models[i], tokens[i], ats[i] = t.Role, t.Content, t.Model, int32(t.Tokens), t.At
	}
	now := s.opts.Now()
	b := &pgx.Batch{}
	b.Queue(dropExpiredSQL, k.Tenant, k.ID, now)
	b.Queue(upsertSQL, k.Tenant, k.ID, n, now, now.Add(s.opts.TTL))
	b.Queue(insertTurnsSQL, k.Tenant, k.ID, n, roles, contents, models, tokens, ats)
	if err := s.db.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("appending to session: %w", err)
	}
	return nil
}

func (s *SessionStore) Fold(ctx context.Context, k session.Key, f session.Fold) error {
	if err := k.Validate(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var through, last int64
		var expires time.Time
		err := tx.QueryRow(ctx, `SELECT summary_through, last_seq, expires_at FROM cato_sessions
			WHERE tenant = $1 AND id = $2 FOR UPDATE`, k.Tenant, k.ID).Scan(&through, &last, &expires)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !s.opts.Now().Before(expires)) {
			return session.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := session.CheckFold(f, through, last); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cato_session_turns WHERE tenant = $1 AND session_id = $2 AND seq <= $3`,
			k.Tenant, k.ID, f.Through); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE cato_sessions SET summary = $3, summary_through = $4 WHERE tenant = $1 AND id = $2`,
			k.Tenant, k.ID, f.Summary, f.Through)
		return err
	})
	if err != nil && !errors.Is(err, session.ErrNotFound) && !errors.Is(err, session.ErrConflict) {
		return fmt.Errorf("folding session: %w", err)
	}
	return err
}

func (s *SessionStore) Delete(ctx context.Context, k session.Key) error {
	if err := k.Validate(); err != nil {
		return err
	}
	// The turns go with the row (ON DELETE CASCADE).
	if _, err := s.db.pool.Exec(ctx, `DELETE FROM cato_sessions WHERE tenant = $1 AND id = $2`, k.Tenant, k.ID); err != nil {
		return fmt.Errorf("deleting session: %w", err)
	}
	return nil
}

// sweepBatch bounds the sessions deleted per statement, so that a sweep
// does not hold many locks for long.
const sweepBatch = 1000

// Sweep deletes the sessions that have expired and returns how many.
func (s *SessionStore) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		tag, err := s.db.pool.Exec(ctx, `DELETE FROM cato_sessions WHERE (tenant, id) IN (
			SELECT tenant, id FROM cato_sessions WHERE expires_at <= $1 LIMIT $2)`, s.opts.Now(), sweepBatch)
		if err != nil {
			return total, fmt.Errorf("deleting expired sessions: %w", err)
		}
		total += int(tag.RowsAffected())
		if tag.RowsAffected() < sweepBatch {
			return total, nil
		}
	}
}
