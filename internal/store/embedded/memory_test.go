package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/memory/memorytest"
)

func TestMemoryStore(t *testing.T) {
	memorytest.Run(t, func(t *testing.T, o memory.QueueOptions) memory.Backend {
		s, err := NewMemoryStore(openDB(t, t.TempDir()), o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestMemoryReopen checks what survives the process: episodes (searchable
// again through the rebuilt index), facts, and queued interactions, whose
// leases die with the process that took them.
func TestMemoryReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewMemoryStore(db, memory.QueueOptions{Lease: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	k := memory.Key{Tenant: "acme", User: "u"}
	in := memory.Interaction{ID: "i1", Tenant: "acme", User: "u", Query: "My name is Alice.", At: time.Now()}
	err = s.Apply(ctx, memory.Change{Key: k, Interaction: &in,
		Episode: &memory.Episode{ID: "i1", Tenant: "acme", User: "u", Query: in.Query, At: in.At, Vector: []float32{1, 0, 0}},
		Put:     []memory.Fact{{ID: "f1", Tenant: "acme", User: "u", Subject: "user", Predicate: "name", Object: "Alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	queued := []memory.Interaction{{ID: "q1", Tenant: "acme", Query: "a"}, {ID: "q2", Tenant: "acme", Query: "b"}}
	if err := s.Enqueue(ctx, queued); err != nil {
		t.Fatal(err)
	}
	// A consumer takes both, acknowledges neither, and the process dies.
	if ds, err := s.Claim(ctx, "c", 2, 0); err != nil || len(ds) != 2 {
		t.Fatalf("Claim = %d, %v", len(ds), err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	s, err = NewMemoryStore(db, memory.QueueOptions{Lease: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := s.SearchEpisodes(ctx, k, []float32{1, 0.1, 0}, 3)
	if err != nil || len(hits) != 1 || hits[0].ID != "i1" {
		t.Errorf("after reopening, SearchEpisodes = %+v, %v; want i1", hits, err)
	}
	if st, err := s.Load(ctx, k, memory.CurrentFacts); err != nil || len(st.Facts) != 1 || st.Version != 1 {
		t.Errorf("after reopening, Load = %+v, %v", st, err)
	}
	ds, err := s.Claim(ctx, "c2", 5, 0)
	if err != nil || len(ds) != 2 || ds[0].Attempt != 2 {
		t.Fatalf("after reopening, Claim = %+v, %v; want both again at attempt 2 despite the hour's lease", ds, err)
	}
}
