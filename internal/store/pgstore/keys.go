package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cato-gateway/cato/internal/keys"
)

// KeyStore is the PostgreSQL keys.Store, on the tables of
// migrations/0006_keys.sql, shared by every replica using the database.
// Admit is one statement, a conditional upsert of the minute's row: the
// row lock orders admissions of one key across replicas, and the update's
// condition is checked against the row as the previous admission left it.
// It is safe for concurrent use.
type KeyStore struct {
	db *DB
	// admits counts Admit calls, so that one in sweepEvery deletes the
	// rows of minutes long over.
	admits atomic.Uint64
}

// sweepEvery is how many admissions go between two sweeps of old minutes.
const sweepEvery = 1024

var _ keys.Store = (*KeyStore)(nil)

// NewKeyStore returns the key store of db.
func NewKeyStore(db *DB) *KeyStore { return &KeyStore{db: db} }

// Create implements keys.Store.
func (s *KeyStore) Create(ctx context.Context, k keys.Key) error {
	limits, err := json.Marshal(k.Limits)
	if err != nil {
		return err
	}
	_, err = s.db.pool.Exec(ctx, `INSERT INTO cato_keys (id, hash, tenant, limits, created) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Hash, k.Tenant, limits, k.Created)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return keys.ErrExists
	}
	if err != nil {
		return fmt.Errorf("creating key: %w", err)
	}
	return nil
}

const keyColumns = `id, hash, tenant, limits, created, revoked`

func scanKey(row pgx.Row) (keys.Key, error) {
	var k keys.Key
	var limits []byte
	var revoked *time.Time
	if err := row.Scan(&k.ID, &k.Hash, &k.Tenant, &limits, &k.Created, &revoked); err != nil {
		return keys.Key{}, err
	}
	if err := json.Unmarshal(limits, &k.Limits); err != nil {
		return keys.Key{}, fmt.Errorf("decoding the limits of key %s: %w", k.ID, err)
	}
	if revoked != nil {
		k.Revoked = *revoked
	}
	return k, nil
}

// Lookup implements keys.Store.
func (s *KeyStore) Lookup(ctx context.Context, hash string) (keys.Key, error) {
	k, err := scanKey(s.db.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM cato_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return keys.Key{}, keys.ErrNotFound
	}
	if err != nil {
		return keys.Key{}, fmt.Errorf("looking up key: %w", err)
	}
	return k, nil
}

// List implements keys.Store.
func (s *KeyStore) List(ctx context.Context) ([]keys.Key, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT `+keyColumns+` FROM cato_keys ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	var out []keys.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing keys: %w", err)
	}
	return out, nil
}

// Revoke implements keys.Store.
func (s *KeyStore) Revoke(ctx context.Context, id string, at time.Time) error {
	tag, err := s.db.pool.Exec(ctx, `UPDATE cato_keys SET revoked = coalesce(revoked, $2) WHERE id = $1`, id, at)
	if err != nil {
		return fmt.Errorf("revoking key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return keys.ErrNotFound
	}
	return nil
}

// admitSQL is keys.Admission's rule as one conditional upsert. $1 id, $2
// period, $3 window, $4 tokens, $5 rpm, $6 tpm, $7 budget. It returns the
// spend, and the minute's counts when admitted (NULL when refused).
const admitSQL = `
WITH spent AS (
  SELECT coalesce((SELECT nano_usd FROM cato_key_spend WHERE key_id = $1 AND period = $2), 0) AS n
), up AS (
  INSERT INTO cato_key_windows AS w (key_id, window_id, requests, tokens)
  SELECT $1, $3, 1, $4::bigint FROM spent WHERE $7::bigint = 0 OR spent.n < $7::bigint
  ON CONFLICT (key_id, window_id) DO UPDATE
    SET requests = w.requests + 1, tokens = w.tokens + EXCLUDED.tokens
    WHERE ($5::bigint = 0 OR w.requests < $5::bigint)
      AND ($6::bigint = 0 OR w.tokens = 0 OR w.tokens + EXCLUDED.tokens <= $6::bigint)
  RETURNING requests, tokens
)
SELECT (SELECT n FROM spent), (SELECT requests FROM up), (SELECT tokens FROM up)`

// Admit implements keys.Store.
func (s *KeyStore) Admit(ctx context.Context, a keys.Admission) (keys.Verdict, error) {
	if s.admits.Add(1)%sweepEvery == 0 {
		s.sweep(ctx, a.Window)
	}
	var v keys.Verdict
	var requests, tokens *int64
	if err := s.db.pool.QueryRow(ctx, admitSQL, a.ID, a.Period, a.Window, a.Tokens, a.RPM, a.TPM, a.BudgetNano).
		Scan(&v.SpentNano, &requests, &tokens); err != nil {
		return keys.Verdict{}, fmt.Errorf("admitting: %w", err)
	}
	if requests != nil {
		v.Requests, v.Tokens = *requests, *tokens
		return v, nil
	}
	// Refused: say by what, from the minute as it is now.
	err := s.db.pool.QueryRow(ctx, `SELECT requests, tokens FROM cato_key_windows WHERE key_id = $1 AND window_id = $2`, a.ID, a.Window).
		Scan(&v.Requests, &v.Tokens)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return keys.Verdict{}, fmt.Errorf("admitting: %w", err)
	}
	switch {
	case a.BudgetNano > 0 && v.SpentNano >= a.BudgetNano:
		v.Refused = keys.RefusedBudget
	case a.RPM > 0 && v.Requests >= a.RPM:
		v.Refused = keys.RefusedRPM
	default:
		v.Refused = keys.RefusedTPM
	}
	return v, nil
}

// sweep deletes the counts of minutes that ended more than windowKeep
// before window. A failure is left for the next sweep.
func (s *KeyStore) sweep(ctx context.Context, window string) {
	t, err := time.Parse(keys.WindowLayout, window)
	if err != nil {
		return
	}
	_, _ = s.db.pool.Exec(ctx, `DELETE FROM cato_key_windows WHERE window_id < $1`, t.Add(-windowKeep).Format(keys.WindowLayout))
}

// windowKeep is how long the counts of a minute are kept after it: long
// enough for answers that settle after their minute.
const windowKeep = 5 * time.Minute

// Settle implements keys.Store.
func (s *KeyStore) Settle(ctx context.Context, st keys.Settlement) error {
	b := &pgx.Batch{}
	if st.Tokens != 0 {
		b.Queue(`INSERT INTO cato_key_windows AS w (key_id, window_id, requests, tokens) VALUES ($1, $2, 0, $3)
			ON CONFLICT (key_id, window_id) DO UPDATE SET tokens = w.tokens + EXCLUDED.tokens`, st.ID, st.Window, st.Tokens)
	}
	if st.CostNano != 0 {
		b.Queue(`INSERT INTO cato_key_spend AS s (key_id, period, nano_usd) VALUES ($1, $2, $3)
			ON CONFLICT (key_id, period) DO UPDATE SET nano_usd = s.nano_usd + EXCLUDED.nano_usd`, st.ID, st.Period, st.CostNano)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.db.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("settling: %w", err)
	}
	return nil
}

// Spent implements keys.Store.
func (s *KeyStore) Spent(ctx context.Context, id, period string) (int64, error) {
	var n int64
	err := s.db.pool.QueryRow(ctx, `SELECT nano_usd FROM cato_key_spend WHERE key_id = $1 AND period = $2`, id, period).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading spend: %w", err)
	}
	return n, nil
}
