package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/store/dynamostore"
	"github.com/cato-gateway/cato/internal/store/embedded"
	"github.com/cato-gateway/cato/internal/store/pgstore"
	"github.com/cato-gateway/cato/internal/store/redisstore"
	"github.com/cato-gateway/cato/internal/testenv"
)

// dyingQueue is a queue whose consumer dies after consolidating its first
// batch and before acknowledging it: later claims find nothing, acks fail.
type dyingQueue struct {
	memory.Queue
	claimed chan struct{}
}

func (q *dyingQueue) Claim(ctx context.Context, consumer string, n int, wait time.Duration) ([]memory.Delivery, error) {
	select {
	case <-q.claimed:
		<-ctx.Done()
		return nil, ctx.Err()
	default:
		close(q.claimed)
		return q.Queue.Claim(ctx, consumer, n, wait)
	}
}

func (q *dyingQueue) Ack(context.Context, []memory.Delivery) error {
	return errors.New("the process died before acknowledging")
}

// crashAndRestart enqueues 30 interactions on first; a consumer
// consolidates a batch of 10 and dies before acknowledging it; another
// claims 10 and dies at once; restart then returns the backend as a new
// process sees it, and a new gateway consolidates. Every interaction must
// be consolidated exactly once in effect: one episode each, one version
// bump each, the 10 consolidated twice found to be duplicates, and the
// last statement current.
func crashAndRestart(t *testing.T, first memory.Backend, restart func() memory.Backend) {
	ctx := context.Background()
	const n = 30
	k := memory.Key{Tenant: "crash-" + t.Name(), User: "u"}
	cities := []string{"Oslo", "Bergen", "Tromsø"}
	m1, err := memory.New(memory.Options{Store: first, Queue: &dyingQueue{Queue: first, claimed: make(chan struct{})},
		Embedder: localEmbedder(t), Workers: 1, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range n {
		id, err := m1.Submit(ctx, memory.Interaction{Tenant: k.Tenant, User: k.User, SessionID: fmt.Sprintf("s%d", i%4),
			Query: fmt.Sprintf("I live in %s.", cities[i%3]), Response: fmt.Sprintf("Noted, turn %d.", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		time.Sleep(time.Millisecond) // distinct times, in order
	}
	run1, stop1 := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m1.Run(run1) }()
	deadline := time.Now().Add(30 * time.Second)
	for m1.Status().Consolidations["ok"] < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop1()
	<-done
	if got := m1.Status().Consolidations["ok"]; got != 10 {
		t.Fatalf("the first gateway consolidated %d within 30s; want its batch of 10", got)
	}
	if ds, err := first.Claim(ctx, "abandoned", 10, 0); err != nil || len(ds) != 10 {
		t.Fatalf("the abandoning consumer claimed %d, %v; want 10", len(ds), err)
	}

	b := restart()
	m2, err := memory.New(memory.Options{Store: b, Queue: b, Embedder: localEmbedder(t), Workers: 2, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	drain, stop2 := runMemory(t, m2, b)
	drain()
	stop2()

	st := m2.Status()
	// At least the 10 consolidated and never acknowledged come back as
	// duplicates; with a short lease, a slow batch of the new gateway's
	// may be taken over by its other worker and found done too.
	if st.Consolidations["duplicate"] < 10 || st.Consolidations["ok"] != n-10 {
		t.Errorf("after the restart: %v; want at least 10 duplicates (consolidated, never acknowledged) and %d ok", st.Consolidations, n-10)
	}
	state, err := b.Load(ctx, k, memory.AllFacts)
	if err != nil {
		t.Fatal(err)
	}
	if state.Version != n {
		t.Errorf("version = %d; want %d, one change per interaction", state.Version, n)
	}
	qv, _ := localEmbedder(t).Embed(ctx, []string{"Where do I live?"})
	hits, err := b.SearchEpisodes(ctx, k, qv[0], 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, h := range hits {
		seen[h.ID]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("interaction %s has %d episodes; want 1", id, seen[id])
		}
	}
	sources := map[string]int{}
	var current []string
	for _, f := range state.Facts {
		for _, s := range f.Sources {
			sources[s.Interaction]++
		}
		if f.Current() {
			current = append(current, f.Object)
		}
	}
	for _, id := range ids {
		if sources[id] != 1 {
			t.Errorf("interaction %s is the source of %d facts; want 1", id, sources[id])
		}
	}
	if want := cities[(n-1)%3]; len(current) != 1 || current[0] != want {
		t.Errorf("current residence %v; want %s, the last said", current, want)
	}
	if qs, _ := b.Stats(ctx); qs.Depth != 0 {
		t.Errorf("queue depth %d after the restart's drain; want 0", qs.Depth)
	}
}

// TestCrashRestartEmbedded: the process dies; a new one reopens the file,
// where the dead process's leases are void.
func TestCrashRestartEmbedded(t *testing.T) {
	dir := t.TempDir()
	db, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := embedded.NewMemoryStore(db, memory.QueueOptions{Lease: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	crashAndRestart(t, s, func() memory.Backend {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db2, err := embedded.Open(embedded.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db2.Close() })
		s2, err := embedded.NewMemoryStore(db2, memory.QueueOptions{Lease: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s2
	})
}

// crashLease is the lease of the shared stores' crash tests: the new
// gateway takes over what the dead one held once it runs out.
const crashLease = 300 * time.Millisecond

func TestCrashRestartRedis(t *testing.T) {
	o, err := redisstore.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Prefix = fmt.Sprintf("crash-%d:", time.Now().UnixNano())
	c, err := redisstore.Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := redisstore.NewMemoryStore(context.Background(), c, memory.QueueOptions{Lease: crashLease})
	if err != nil {
		t.Fatal(err)
	}
	crashAndRestart(t, s, func() memory.Backend {
		time.Sleep(crashLease + 100*time.Millisecond)
		return s
	})
}

func TestCrashRestartPostgres(t *testing.T) {
	o, err := pgstore.ParseURL(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("crash_%d", time.Now().UnixNano())
	admin, err := pgstore.Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Pool().Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Pool().Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	o.Pool.ConnConfig.RuntimeParams["search_path"] = schema
	db, err := pgstore.Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := pgstore.NewMemoryStore(context.Background(), db, memory.QueueOptions{Lease: crashLease})
	if err != nil {
		t.Fatal(err)
	}
	crashAndRestart(t, s, func() memory.Backend {
		time.Sleep(crashLease + 100*time.Millisecond)
		return s
	})
}

func TestCrashRestartDynamoDB(t *testing.T) {
	o, err := dynamostore.ParseURL(testenv.DynamoDBURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Table += fmt.Sprintf("-crash-%d", time.Now().UnixNano())
	db, err := dynamostore.Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.DeleteTable(context.Background()) })
	s := dynamostore.NewMemoryStore(db, memory.QueueOptions{Lease: crashLease})
	crashAndRestart(t, s, func() memory.Backend {
		time.Sleep(crashLease + 100*time.Millisecond)
		// The new gateway opens the table afresh.
		db2, err := dynamostore.Open(context.Background(), o, nil)
		if err != nil {
			t.Fatal(err)
		}
		return dynamostore.NewMemoryStore(db2, memory.QueueOptions{Lease: crashLease})
	})
}
