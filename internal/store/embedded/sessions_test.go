package embedded

import (
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/session/sessiontest"
)

func openDB(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSessionStore(t *testing.T) {
	db := openDB(t, t.TempDir())
	sessiontest.Run(t, func(t *testing.T, o session.StoreOptions) session.Store {
		return NewSessionStore(db, o)
	})
}

// TestSessionsSurviveReopen checks that an acknowledged Append is on disk:
// a new DB on the same file sees it.
func TestSessionsSurviveReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "store")
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	k := session.Key{Tenant: "acme", ID: "s"}
	if err := NewSessionStore(db, session.StoreOptions{}).Append(t.Context(), k, session.Turn{Role: "user", Content: "My name is Alice."}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	s, err := NewSessionStore(db, session.StoreOptions{}).Load(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Turns) != 1 || s.Turns[0].Content != "My name is Alice." {
		t.Errorf("after reopen: %+v", s.Turns)
	}
}

// BenchmarkAppendParallel measures session appends from 64 concurrent
// callers (with GOMAXPROCS dividing 64), each on a session of its own:
// what group commit pays for.
func BenchmarkAppendParallel(b *testing.B) {
	db, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := NewSessionStore(db, session.StoreOptions{})
	var next atomic.Int64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		k := session.Key{Tenant: "t", ID: "s" + strconv.FormatInt(next.Add(1), 10)}
		turn := session.Turn{Role: "user", Content: "What is the capital of France?"}
		for pb.Next() {
			if err := s.Append(context.Background(), k, turn); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
