package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cato-gateway/cato/internal/feedback"
)

// FeedbackStore is the PostgreSQL feedback.Store, on the tables of
// migrations/0007_feedback.sql. Rate is one upsert, so concurrent ratings
// of one answer by one user leave one row. It is safe for concurrent use,
// also by replicas sharing the database.
type FeedbackStore struct {
	db   *DB
	opts feedback.StoreOptions
}

var _ feedback.Store = (*FeedbackStore)(nil)

// NewFeedbackStore returns the feedback store of db.
func NewFeedbackStore(db *DB, o feedback.StoreOptions) *FeedbackStore {
	return &FeedbackStore{db: db, opts: o.WithDefaults()}
}

const rememberSQL = `
INSERT INTO cato_feedback_answers (tenant, request_id, side, model, route, cached, answered_at, expires_at)
SELECT t, id, side, model, route, cached, at, $8
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::timestamptz[])
     AS a(t, id, side, model, route, cached, at)
ON CONFLICT (tenant, request_id) DO UPDATE SET
    side = EXCLUDED.side, model = EXCLUDED.model, route = EXCLUDED.route, cached = EXCLUDED.cached,
    answered_at = EXCLUDED.answered_at, expires_at = EXCLUDED.expires_at`

func (s *FeedbackStore) Remember(ctx context.Context, answers ...feedback.Answer) error {
	for _, a := range answers {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	if len(answers) == 0 {
		return nil
	}
	// One statement may not upsert a row twice: the last record of a
	// request id wins, as it would one call after another.
	type key struct{ tenant, id string }
	last := make(map[key]int, len(answers))
	for i, a := range answers {
		last[key{a.Tenant, a.RequestID}] = i
	}
	n := len(last)
	tenants, ids, sides, models, routes := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	cached, ats := make([]bool, 0, n), make([]time.Time, 0, n)
	for i, a := range answers {
		if last[key{a.Tenant, a.RequestID}] != i {
			continue
		}
		tenants, ids, sides, models, routes = append(tenants, a.Tenant), append(ids, a.RequestID), append(sides, a.Side), append(models, a.Model), append(routes, a.Route)
		cached, ats = append(cached, a.Cached), append(ats, a.At)
	}
	expires := s.opts.Now().Add(s.opts.AnswerTTL)
	if _, err := s.db.pool.Exec(ctx, rememberSQL, tenants, ids, sides, models, routes, cached, ats, expires); err != nil {
		return fmt.Errorf("remembering answers: %w", err)
	}
	return nil
}

const rateSQL = `
INSERT INTO cato_feedback_ratings AS r
    (tenant, request_id, user_id, rating, scale, verdict, comment, rated_at, side, model, route, cached, answered_at)
SELECT a.tenant, a.request_id, $3, $4, $5, $6, $7, $8, a.side, a.model, a.route, a.cached, a.answered_at
FROM cato_feedback_answers a
WHERE a.tenant = $1 AND a.request_id = $2 AND a.expires_at > $8
ON CONFLICT (tenant, request_id, user_id) DO UPDATE SET
    rating = EXCLUDED.rating, scale = EXCLUDED.scale, verdict = EXCLUDED.verdict, comment = EXCLUDED.comment,
    rated_at = EXCLUDED.rated_at, side = EXCLUDED.side, model = EXCLUDED.model, route = EXCLUDED.route,
    cached = EXCLUDED.cached, answered_at = EXCLUDED.answered_at
RETURNING side, model, route, cached, answered_at, xmax::text <> '0'`

func (s *FeedbackStore) Rate(ctx context.Context, r feedback.Rating) (feedback.Rated, error) {
	if err := r.Validate(); err != nil {
		return feedback.Rated{}, err
	}
	now := s.opts.Now()
	var out feedback.Rated
	a := &r.Answer
	err := s.db.pool.QueryRow(ctx, rateSQL, r.Tenant, r.RequestID, r.User, r.Rating, string(r.Scale), string(r.Verdict), r.Comment, now).
		Scan(&a.Side, &a.Model, &a.Route, &a.Cached, &a.At, &out.Replaced)
	if errors.Is(err, pgx.ErrNoRows) {
		return feedback.Rated{}, feedback.ErrUnknownRequest
	}
	if err != nil {
		return feedback.Rated{}, fmt.Errorf("rating answer: %w", err)
	}
	a.Tenant, a.RequestID = r.Tenant, r.RequestID
	r.At = now
	out.Rating = r
	return out, nil
}

const countsSQL = `
SELECT side, model, verdict, count(*) FROM cato_feedback_ratings
WHERE rated_at >= $1 AND rated_at < $2
GROUP BY side, model, verdict`

func (s *FeedbackStore) Counts(ctx context.Context, since, until time.Time) ([]feedback.Count, error) {
	rows, err := s.db.pool.Query(ctx, countsSQL, since, until)
	if err != nil {
		return nil, fmt.Errorf("counting ratings: %w", err)
	}
	var out []feedback.Count
	for rows.Next() {
		var (
			c feedback.Count
			v string
			n int64
		)
		if err := rows.Scan(&c.Side, &c.Model, &v, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("counting ratings: %w", err)
		}
		c.Verdict, c.N = feedback.Verdict(v), uint64(n)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting ratings: %w", err)
	}
	return out, nil
}

// Sweep deletes, sweepBatch rows at a time, the answers past their TTL and
// the ratings older than the retention.
func (s *FeedbackStore) Sweep(ctx context.Context) (int, error) {
	now := s.opts.Now()
	total := 0
	for _, q := range []struct {
		sql    string
		before time.Time
	}{
		{`DELETE FROM cato_feedback_answers WHERE (tenant, request_id) IN (
			SELECT tenant, request_id FROM cato_feedback_answers WHERE expires_at <= $1 LIMIT $2)`, now},
		{`DELETE FROM cato_feedback_ratings WHERE (tenant, request_id, user_id) IN (
			SELECT tenant, request_id, user_id FROM cato_feedback_ratings WHERE rated_at < $1 LIMIT $2)`, now.Add(-s.opts.Retention)},
	} {
		for {
			tag, err := s.db.pool.Exec(ctx, q.sql, q.before, sweepBatch)
			if err != nil {
				return total, fmt.Errorf("sweeping feedback: %w", err)
			}
			total += int(tag.RowsAffected())
			if tag.RowsAffected() < sweepBatch {
				break
			}
		}
	}
	return total, nil
}
