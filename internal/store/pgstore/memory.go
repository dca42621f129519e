package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/cachecodec"
)

// MemoryStore is the PostgreSQL memory.Store and memory.Queue, on the
// tables of migrations/0004_memory.sql, shared by every replica on the
// database.
//
// Changes to one user run in a transaction that locks the user's row of
// cato_memory_users, whose version orders them. Episodes are searched with
// pgvector where the server has it: an HNSW index per vector dimension on
// embedding::vector(N) (migrations/0005_memory_vector.sql), and iterative
// index scans (pgvector 0.8) so that a search filtered to one user still
// finds its k nearest. Without pgvector the user's vectors are read and
// scanned in process, exactly.
//
// The queue is a table: Claim takes the oldest visible rows with FOR
// UPDATE SKIP LOCKED, so that consumers on any replica never wait for one
// another, and hides them for the lease; Ack deletes them. Claims poll the
// table, from every 50ms while it is busy to every second while it is
// empty, and are woken at once by enqueues of the same process. It is
// safe for concurrent use.
type MemoryStore struct {
	db   *DB
	opts memory.QueueOptions
	// iterative reports that pgvector has hnsw.iterative_scan (0.8+).
	iterative bool

	mu      sync.Mutex // guards indexed and wake
	indexed map[int]bool
	wake    chan struct{}
}

var _ memory.Backend = (*MemoryStore)(nil)

// NewMemoryStore returns the memory store of db.
func NewMemoryStore(ctx context.Context, db *DB, o memory.QueueOptions) (*MemoryStore, error) {
	s := &MemoryStore{db: db, opts: o.WithDefaults(), indexed: map[int]bool{}, wake: make(chan struct{})}
	if db.vector {
		var v string
		if err := db.pool.QueryRow(ctx, "SELECT extversion FROM pg_extension WHERE extname = 'vector'").Scan(&v); err != nil {
			return nil, fmt.Errorf("reading the pgvector version: %w", err)
		}
		s.iterative = versionAtLeast(v, 0, 8)
	}
	return s, nil
}

// versionAtLeast reports whether a version "MAJOR.MINOR[.PATCH]" is at
// least major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// EpisodeSearch names how episodes are searched.
func (s *MemoryStore) EpisodeSearch() string {
	if s.db.vector {
		return "pgvector_hnsw"
	}
	return "exact_scan"
}

// Load returns k's facts and version.
func (s *MemoryStore) Load(ctx context.Context, k memory.Key, which memory.Which) (memory.State, error) {
	if err := k.Validate(); err != nil {
		return memory.State{}, err
	}
	var st memory.State
	err := pgx.BeginTxFunc(ctx, s.db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "SELECT version FROM cato_memory_users WHERE tenant = $1 AND user_id = $2", k.Tenant, k.User).Scan(&st.Version)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT fact FROM cato_memory_facts WHERE tenant = $1 AND user_id = $2 AND (NOT superseded OR $3)",
			k.Tenant, k.User, which == memory.AllFacts)
		if err != nil {
			return err
		}
		st.Facts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (memory.Fact, error) {
			var raw string
			var f memory.Fact
			if err := r.Scan(&raw); err != nil {
				return f, err
			}
			return f, json.Unmarshal([]byte(raw), &f)
		})
		return err
	})
	if err != nil {
		return memory.State{}, fmt.Errorf("loading memory: %w", err)
	}
	return st, nil
}

// lockUser creates k's row if needed, locks it and returns its version
// and forgotten time.
func lockUser(ctx context.Context, tx pgx.Tx, k memory.Key) (int64, *time.Time, error) {
	if _, err := tx.Exec(ctx, "INSERT INTO cato_memory_users (tenant, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", k.Tenant, k.User); err != nil {
		return 0, nil, err
	}
	var v int64
	var forgotten *time.Time
	err := tx.QueryRow(ctx, "SELECT version, forgotten FROM cato_memory_users WHERE tenant = $1 AND user_id = $2 FOR UPDATE", k.Tenant, k.User).Scan(&v, &forgotten)
	return v, forgotten, err
}

// vectorText is v in pgvector's text form.
func vectorText(v []float32) string {
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}

// Apply writes c in one transaction.
func (s *MemoryStore) Apply(ctx context.Context, c memory.Change) error {
	if err := c.Key.Validate(); err != nil {
		return err
	}
	k := c.Key
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		version, forgotten, err := lockUser(ctx, tx, k)
		if err != nil {
			return err
		}
		if i := c.Interaction; i != nil {
			var dup bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM cato_memory_episodes WHERE tenant = $1 AND user_id = $2 AND id = $3)", k.Tenant, k.User, i.ID).Scan(&dup); err != nil {
				return err
			}
			if dup {
				return memory.ErrDuplicate
			}
			if forgotten != nil && !forgotten.Before(i.At) {
				return memory.ErrForgotten
			}
			if i.SessionID != "" {
				var at time.Time
				err := tx.QueryRow(ctx, "SELECT at FROM cato_memory_forgotten_sessions WHERE tenant = $1 AND session_id = $2", k.Tenant, i.SessionID).Scan(&at)
				switch {
				case err == nil && !at.Before(i.At):
					return memory.ErrForgotten
				case err != nil && !errors.Is(err, pgx.ErrNoRows):
					return err
				}
			}
		}
		if version != c.Version {
			return memory.ErrConflict
		}
		b := &pgx.Batch{}
		if e := c.Episode; e != nil {
			var vec []byte
			if len(e.Vector) > 0 {
				vec = cachecodec.EncodeVector(e.Vector)
			}
			facts := ""
			if len(e.FactIDs) > 0 {
				js, _ := json.Marshal(e.FactIDs)
				facts = string(js)
			}
			if s.db.vector && len(e.Vector) > 0 {
				b.Queue(`INSERT INTO cato_memory_episodes (tenant, user_id, id, session_id, domain, query, response, at, facts, vector, embedding)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::vector)`,
					k.Tenant, k.User, e.ID, e.SessionID, e.Domain, e.Query, e.Response, e.At, facts, vec, vectorText(e.Vector))
			} else {
				b.Queue(`INSERT INTO cato_memory_episodes (tenant, user_id, id, session_id, domain, query, response, at, facts, vector)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
					k.Tenant, k.User, e.ID, e.SessionID, e.Domain, e.Query, e.Response, e.At, facts, vec)
			}
		}
		for i := range c.Put {
			js, err := json.Marshal(&c.Put[i])
			if err != nil {
				return err
			}
			b.Queue(`INSERT INTO cato_memory_facts (tenant, user_id, id, superseded, fact) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (tenant, user_id, id) DO UPDATE SET superseded = EXCLUDED.superseded, fact = EXCLUDED.fact`,
				k.Tenant, k.User, c.Put[i].ID, !c.Put[i].Current(), string(js))
		}
		if len(c.Delete) > 0 {
			b.Queue("DELETE FROM cato_memory_facts WHERE tenant = $1 AND user_id = $2 AND id = ANY($3)", k.Tenant, k.User, c.Delete)
		}
		if len(c.DeleteEpisodes) > 0 {
			b.Queue("DELETE FROM cato_memory_episodes WHERE tenant = $1 AND user_id = $2 AND id = ANY($3)", k.Tenant, k.User, c.DeleteEpisodes)
		}
		b.Queue("UPDATE cato_memory_users SET version = version + 1 WHERE tenant = $1 AND user_id = $2", k.Tenant, k.User)
		return tx.SendBatch(ctx, b).Close()
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memory.ErrDuplicate), errors.Is(err, memory.ErrForgotten), errors.Is(err, memory.ErrConflict):
		return err
	}
	return fmt.Errorf("applying memory change: %w", err)
}

// ensureIndex creates the HNSW index of dimension dim once per process.
func (s *MemoryStore) ensureIndex(ctx context.Context, dim int) error {
	s.mu.Lock()
	done := s.indexed[dim]
	s.mu.Unlock()
	if done {
		return nil
	}
	d := strconv.Itoa(dim)
	sql := "CREATE INDEX IF NOT EXISTS cato_memory_episodes_hnsw_" + d +
		" ON cato_memory_episodes USING hnsw ((embedding::vector(" + d + ")) vector_cosine_ops)" +
		" WHERE vector_dims(embedding) = " + d
	if _, err := s.db.pool.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating the episode index of dimension %d: %w", dim, err)
	}
	s.mu.Lock()
	s.indexed[dim] = true
	s.mu.Unlock()
	return nil
}

const episodeColumns = "id, session_id, domain, query, response, at, facts"

func scanEpisode(k memory.Key, r pgx.Row, extra ...any) (memory.Episode, error) {
	e := memory.Episode{Tenant: k.Tenant, User: k.User}
	var facts string
	if err := r.Scan(append([]any{&e.ID, &e.SessionID, &e.Domain, &e.Query, &e.Response, &e.At, &facts}, extra...)...); err != nil {
		return e, err
	}
	if facts != "" {
		if err := json.Unmarshal([]byte(facts), &e.FactIDs); err != nil {
			return e, fmt.Errorf("episode %s: facts: %w", e.ID, err)
		}
	}
	return e, nil
}

// SearchEpisodes searches with pgvector, or scans k's vectors in process.
func (s *MemoryStore) SearchEpisodes(ctx context.Context, k memory.Key, vec []float32, n int) ([]memory.EpisodeHit, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if n <= 0 || len(vec) == 0 {
		return nil, nil
	}
	var hits []memory.EpisodeHit
	var err error
	if s.db.vector {
		hits, err = s.searchVector(ctx, k, vec, n)
	} else {
		hits, err = s.searchScan(ctx, k, vec, n)
	}
	if err != nil {
		return nil, fmt.Errorf("searching episodes: %w", err)
	}
	return hits, nil
}

func (s *MemoryStore) searchVector(ctx context.Context, k memory.Key, vec []float32, n int) ([]memory.EpisodeHit, error) {
	if err := s.ensureIndex(ctx, len(vec)); err != nil {
		return nil, err
	}
	d := strconv.Itoa(len(vec))
	cast := "::vector(" + d + ")"
	q := "SELECT " + episodeColumns + ", 1 - (embedding" + cast + " <=> $1" + cast + ") FROM cato_memory_episodes" +
		" WHERE tenant = $2 AND user_id = $3 AND vector_dims(embedding) = " + d +
		" ORDER BY embedding" + cast + " <=> $1" + cast + " LIMIT $4"
	var hits []memory.EpisodeHit
	err := pgx.BeginTxFunc(ctx, s.db.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if s.iterative {
			// Without it, the index's nearest of all users are filtered to
			// this one afterwards, and a search could come back short.
			if _, err := tx.Exec(ctx, "SET LOCAL hnsw.iterative_scan = relaxed_order"); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, q, vectorText(vec), k.Tenant, k.User, n)
		if err != nil {
			return err
		}
		hits, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (memory.EpisodeHit, error) {
			var score float64
			e, err := scanEpisode(k, r, &score)
			return memory.EpisodeHit{Episode: e, Score: float32(score)}, err
		})
		return err
	})
	// relaxed_order may return near-ties slightly out of order.
	slices.SortStableFunc(hits, func(a, b memory.EpisodeHit) int { return cmp.Compare(b.Score, a.Score) })
	return hits, err
}

func (s *MemoryStore) searchScan(ctx context.Context, k memory.Key, vec []float32, n int) ([]memory.EpisodeHit, error) {
	rows, err := s.db.pool.Query(ctx, "SELECT id, vector FROM cato_memory_episodes WHERE tenant = $1 AND user_id = $2 AND vector IS NOT NULL", k.Tenant, k.User)
	if err != nil {
		return nil, err
	}
	type scored struct {
		id    string
		score float32
	}
	var best []scored
	var id string
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &raw}, func() error {
		v, err := cachecodec.DecodeVector(raw)
		if err != nil || len(v) != len(vec) {
			return nil // another dimension: another embedder's episode
		}
		sc := dot(vec, v)
		if len(best) == n && sc <= best[n-1].score {
			return nil
		}
		i, _ := slices.BinarySearchFunc(best, sc, func(x scored, s float32) int { return cmp.Compare(s, x.score) })
		best = slices.Insert(best, i, scored{id, sc})
		if len(best) > n {
			best = best[:n]
		}
		return nil
	})
	if err != nil || len(best) == 0 {
		return nil, err
	}
	ids := make([]string, len(best))
	for i, b := range best {
		ids[i] = b.id
	}
	rows, err = s.db.pool.Query(ctx, "SELECT "+episodeColumns+" FROM cato_memory_episodes WHERE tenant = $1 AND user_id = $2 AND id = ANY($3)", k.Tenant, k.User, ids)
	if err != nil {
		return nil, err
	}
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (memory.Episode, error) { return scanEpisode(k, r) })
	if err != nil {
		return nil, err
	}
	byID := make(map[string]memory.Episode, len(eps))
	for _, e := range eps {
		byID[e.ID] = e
	}
	hits := make([]memory.EpisodeHit, 0, len(best))
	for _, b := range best {
		if e, ok := byID[b.id]; ok {
			hits = append(hits, memory.EpisodeHit{Episode: e, Score: b.score})
		}
	}
	return hits, nil
}

// dot is the cosine similarity of two unit vectors.
func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// SessionEpisodes lists the episodes of a session.
func (s *MemoryStore) SessionEpisodes(ctx context.Context, tenant, sessionID string) ([]memory.EpisodeRef, error) {
	rows, err := s.db.pool.Query(ctx, "SELECT user_id, id FROM cato_memory_episodes WHERE tenant = $1 AND session_id = $2 AND session_id <> ''", tenant, sessionID)
	if err != nil {
		return nil, fmt.Errorf("listing session episodes: %w", err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (memory.EpisodeRef, error) {
		var ref memory.EpisodeRef
		return ref, r.Scan(&ref.User, &ref.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("listing session episodes: %w", err)
	}
	return refs, nil
}

// ForgetUser deletes k's memory and records the time, in one transaction.
func (s *MemoryStore) ForgetUser(ctx context.Context, k memory.Key, at time.Time) error {
	if err := k.Validate(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		if _, _, err := lockUser(ctx, tx, k); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue("DELETE FROM cato_memory_facts WHERE tenant = $1 AND user_id = $2", k.Tenant, k.User)
		b.Queue("DELETE FROM cato_memory_episodes WHERE tenant = $1 AND user_id = $2", k.Tenant, k.User)
		b.Queue(`UPDATE cato_memory_users SET version = version + 1, forgotten = GREATEST(COALESCE(forgotten, $3), $3)
			WHERE tenant = $1 AND user_id = $2`, k.Tenant, k.User, at)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("forgetting user: %w", err)
	}
	return nil
}

// ForgetSession records that the session was forgotten at at.
func (s *MemoryStore) ForgetSession(ctx context.Context, tenant, sessionID string, at time.Time) error {
	_, err := s.db.pool.Exec(ctx, `INSERT INTO cato_memory_forgotten_sessions (tenant, session_id, at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, session_id) DO UPDATE SET at = GREATEST(cato_memory_forgotten_sessions.at, EXCLUDED.at)`, tenant, sessionID, at)
	if err != nil {
		return fmt.Errorf("forgetting session: %w", err)
	}
	return nil
}

// Enqueue inserts items in one statement, in order.
func (s *MemoryStore) Enqueue(ctx context.Context, items []memory.Interaction) error {
	if len(items) == 0 {
		return nil
	}
	js := make([]string, len(items))
	for i := range items {
		b, err := json.Marshal(&items[i])
		if err != nil {
			return err
		}
		js[i] = string(b)
	}
	now := s.opts.Now()
	_, err := s.db.pool.Exec(ctx, `INSERT INTO cato_memory_queue (item, enqueued_at, visible_at)
		SELECT x, $2, $2 FROM unnest($1::text[]) WITH ORDINALITY AS t(x, n) ORDER BY n`, js, now)
	if err != nil {
		return fmt.Errorf("enqueueing interactions: %w", err)
	}
	s.notify()
	return nil
}

func (s *MemoryStore) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *MemoryStore) waiter() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// Poll intervals of a waiting Claim: it starts fast, for a queue that is
// being filled, and slows down while the queue stays empty.
const (
	claimPollMin = 50 * time.Millisecond
	claimPollMax = time.Second
)

// Claim takes up to max visible rows, oldest first, waiting up to wait.
func (s *MemoryStore) Claim(ctx context.Context, consumer string, max int, wait time.Duration) ([]memory.Delivery, error) {
	if max <= 0 {
		return nil, nil
	}
	deadline := time.Now().Add(wait)
	poll := claimPollMin
	for {
		woken := s.waiter()
		ds, err := s.claimOnce(ctx, max)
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		t := time.NewTimer(min(poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-woken:
		case <-t.C:
		}
		t.Stop()
		poll = min(2*poll, claimPollMax)
	}
}

func (s *MemoryStore) claimOnce(ctx context.Context, max int) ([]memory.Delivery, error) {
	now := s.opts.Now()
	rows, err := s.db.pool.Query(ctx, `UPDATE cato_memory_queue q SET visible_at = $2, attempts = q.attempts + 1
		FROM (SELECT id FROM cato_memory_queue WHERE visible_at <= $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) c
		WHERE q.id = c.id RETURNING q.id, q.item, q.attempts`, now, now.Add(s.opts.Lease), max)
	if err != nil {
		return nil, fmt.Errorf("claiming interactions: %w", err)
	}
	type claimed struct {
		id       int64
		item     string
		attempts int32
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		return c, r.Scan(&c.id, &c.item, &c.attempts)
	})
	if err != nil {
		return nil, fmt.Errorf("claiming interactions: %w", err)
	}
	slices.SortFunc(cs, func(a, b claimed) int { return cmp.Compare(a.id, b.id) })
	out := make([]memory.Delivery, 0, len(cs))
	var bad []memory.Delivery
	for _, c := range cs {
		d := memory.Delivery{Attempt: int(c.attempts), Receipt: strconv.FormatInt(c.id, 10)}
		if err := json.Unmarshal([]byte(c.item), &d.Interaction); err != nil {
			bad = append(bad, d) // unreadable: nothing to consolidate
			continue
		}
		out = append(out, d)
	}
	if len(bad) > 0 {
		if err := s.Ack(ctx, bad); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Ack deletes the deliveries' rows.
func (s *MemoryStore) Ack(ctx context.Context, ds []memory.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		id, err := strconv.ParseInt(d.Receipt, 10, 64)
		if err != nil {
			return fmt.Errorf("receipt %q is not one of this queue's", d.Receipt)
		}
		ids[i] = id
	}
	if _, err := s.db.pool.Exec(ctx, "DELETE FROM cato_memory_queue WHERE id = ANY($1)", ids); err != nil {
		return fmt.Errorf("acknowledging interactions: %w", err)
	}
	return nil
}

// Stats counts the queue's rows.
func (s *MemoryStore) Stats(ctx context.Context) (memory.QueueStats, error) {
	var st memory.QueueStats
	var oldest *time.Time
	err := s.db.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE attempts > 0 AND visible_at > $1), min(enqueued_at)
		FROM cato_memory_queue`, s.opts.Now()).Scan(&st.Depth, &st.InFlight, &oldest)
	if err != nil {
		return memory.QueueStats{}, fmt.Errorf("reading queue stats: %w", err)
	}
	if oldest != nil {
		st.Oldest = *oldest
	}
	return st, nil
}
