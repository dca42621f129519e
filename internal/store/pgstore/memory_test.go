package pgstore

import (
	"context"
	"testing"

	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/memory/memorytest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// TestMemoryStore runs the suite on PostgreSQL without pgvector: each test
// in a schema of its own, episodes scanned in process.
func TestMemoryStore(t *testing.T) {
	raw := testenv.PostgresURL(t)
	memorytest.Run(t, func(t *testing.T, o memory.QueueOptions) memory.Backend {
		db := openDB(t, schemaURL(t, raw))
		s, err := NewMemoryStore(context.Background(), db, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.EpisodeSearch(); got != "exact_scan" {
			t.Errorf("EpisodeSearch() = %q without pgvector; want exact_scan", got)
		}
		return s
	})
}

// TestMemoryStorePgvector runs the suite on pglite with pgvector, one test
// at a time on one connection (pglite runs every connection in one
// session), emptying the tables before each.
func TestMemoryStorePgvector(t *testing.T) {
	o, err := ParseURL(testenv.PgvectorURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Pool.MaxConns = 1
	db, err := Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if !db.HasVector() {
		t.Fatal("HasVector() = false on the pgvector server")
	}
	memorytest.RunSerial(t, func(t *testing.T, o memory.QueueOptions) memory.Backend {
		_, err := db.pool.Exec(context.Background(), `TRUNCATE cato_memory_users, cato_memory_facts, cato_memory_episodes,
			cato_memory_forgotten_sessions, cato_memory_queue`)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewMemoryStore(context.Background(), db, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.EpisodeSearch(); got != "pgvector_hnsw" {
			t.Errorf("EpisodeSearch() = %q with pgvector; want pgvector_hnsw", got)
		}
		return s
	})
}
