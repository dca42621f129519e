package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/rollouttest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// openSchema creates a schema of its own on the server at raw and returns
// two DBs (two replicas) whose search_path is that schema, migrated; the
// second DB's connections carry application_name app. The schema is
// dropped after the test.
func openSchema(t *testing.T, raw, app string) (a, b *DB) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 4)
	rand.Read(id)
	schema := "test_" + hex.EncodeToString(id)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(ctx)
	})
	open := func(app string) *DB {
		o, err := ParseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		o.Vector = VectorOff
		o.Pool.MaxConns = 4
		o.Pool.ConnConfig.RuntimeParams["search_path"] = schema
		o.Pool.ConnConfig.RuntimeParams["application_name"] = app
		db, err := Open(ctx, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open("cato-test"), open(app)
}

func uniqueApp() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "cato-test-" + hex.EncodeToString(b)
}

// TestFlagStore runs the conformance suite on PostgreSQL 15. Not on the
// pglite test server: it runs every connection in one PostgreSQL session,
// so it has no per-connection search_path, no concurrent transactions and
// no NOTIFY between connections, which are what the flag store is about;
// the flag needs no pgvector either.
func TestFlagStore(t *testing.T) {
	raw := testenv.PostgresURL(t)
	rollouttest.Run(t, func(t *testing.T) (a, b rollout.FlagStore) {
		da, db := openSchema(t, raw, uniqueApp())
		return NewFlagStore(da), NewFlagStore(db)
	})
}

// TestFlagTextCleaned checks that text PostgreSQL cannot hold is stored as
// U+FFFD, and that Set returns the flag as stored.
func TestFlagTextCleaned(t *testing.T) {
	da, _ := openSchema(t, testenv.PostgresURL(t), uniqueApp())
	s := NewFlagStore(da)
	set, err := s.Set(t.Context(), rollout.Flag{Percentage: 5, Source: rollout.SourceCLI, Actor: "a\x00b", Reason: "bad \xff byte"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Actor != "a\uFFFDb" || got.Reason != "bad \uFFFD byte" || got != set {
		t.Errorf("Get = %+v, Set returned %+v; want actor %q and reason %q in both", got, set, "a\uFFFDb", "bad \uFFFD byte")
	}
}

// TestReplicasApplyWithin2s: two replicas on one database, each with its
// own pool, Decider and Poller; a rollback written through one reaches the
// other's Decider within 2 seconds, through LISTEN/NOTIFY.
func TestReplicasApplyWithin2s(t *testing.T) {
	da, db := openSchema(t, testenv.PostgresURL(t), uniqueApp())
	decs := make([]*rollout.Decider, 2)
	for i, d := range []*DB{da, db} {
		decs[i] = rollout.NewDecider(rollout.Flag{}, rollout.DeciderOptions{})
		p := rollout.NewPoller(NewFlagStore(d), decs[i], time.Second, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	time.Sleep(50 * time.Millisecond) // let both LISTEN; not asserted on
	var worst time.Duration
	for i, pct := range []float64{10, 50, 0} {
		from, to := i%2, 1-i%2
		start := time.Now()
		set, err := NewFlagStore([]*DB{da, db}[from]).Set(t.Context(), rollout.Flag{Percentage: pct, Source: rollout.SourceCLI, Actor: "ops"})
		if err != nil {
			t.Fatal(err)
		}
		for decs[to].Flag().Version < set.Version {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("version %d not applied by the other replica after 5s", set.Version)
			}
			time.Sleep(time.Millisecond)
		}
		d := time.Since(start)
		t.Logf("%v%% set on one replica, applied by the other after %v", pct, d)
		worst = max(worst, d)
	}
	if worst >= 2*time.Second {
		t.Errorf("slowest change took %v to reach the other replica; want < 2s", worst)
	}
}

// TestWatchBackendTerminated checks that Watch's channel closes when the
// server ends its connection, and that a new Watch works.
func TestWatchBackendTerminated(t *testing.T) {
	app := uniqueApp()
	da, db := openSchema(t, testenv.PostgresURL(t), app)
	ch, err := NewFlagStore(db).Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := da.pool.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil || n == 0 {
		t.Fatalf("terminated %d backends, %v; want the listening one", n, err)
	}
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-timer.C:
			t.Fatal("watch channel still open 15s after its backend was terminated")
		}
	}
	ch, err = NewFlagStore(db).Watch(t.Context())
	if err != nil {
		t.Fatalf("Watch after the backend was terminated: %v", err)
	}
	if _, err := NewFlagStore(da).Set(t.Context(), rollout.Flag{Source: rollout.SourceCLI}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatal("the new Watch saw no change within 15s")
	}
}
