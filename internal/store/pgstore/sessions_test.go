package pgstore

import (
	"context"
	"testing"

	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/session/sessiontest"
	"github.com/cato-gateway/cato/internal/testenv"
)

func openDB(t testing.TB, raw string) *DB {
	t.Helper()
	o, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSessionStorePostgres(t *testing.T) {
	db := openDB(t, testenv.PostgresURL(t))
	sessiontest.Run(t, func(t *testing.T, o session.StoreOptions) session.Store { return NewSessionStore(db, o) })
}

func TestSessionStorePgvector(t *testing.T) {
	db := openDB(t, testenv.PgvectorURL(t))
	if !db.HasVector() {
		t.Error("HasVector() = false on the pgvector server")
	}
	sessiontest.Run(t, func(t *testing.T, o session.StoreOptions) session.Store { return NewSessionStore(db, o) })
}
