package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/session"
)

func TestResponses(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	store := newMemStore(session.StoreOptions{TTL: time.Hour, Now: func() time.Time { return now }})
	rs := session.NewResponses(store)
	if err := rs.Put(ctx, "acme", "resp_1", []byte(`{"output":[]}`)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err := rs.Get(ctx, "acme", "resp_1")
	if err != nil || string(got) != `{"output":[]}` {
		t.Fatalf("Get = %s, %v; want the record", got, err)
	}
	// The client's own session of the same id is another one.
	if _, err := store.Load(ctx, session.Key{Tenant: "acme", ID: "resp_1"}); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("session resp_1 = %v; want ErrNotFound: responses live apart from sessions", err)
	}
	for _, tt := range []struct{ name, tenant, id string }{
		{"another tenant", "globex", "resp_1"},
		{"unknown id", "acme", "resp_2"},
		{"id with a control character", "acme", "resp_\x01"},
	} {
		if _, err := rs.Get(ctx, tt.tenant, tt.id); !errors.Is(err, session.ErrNotFound) && !errors.Is(err, session.ErrInvalidKey) {
			t.Errorf("%s: Get = %v; want ErrNotFound or ErrInvalidKey", tt.name, err)
		}
	}
	now = now.Add(time.Hour + time.Second)
	if _, err := rs.Get(ctx, "acme", "resp_1"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Get after the TTL = %v; want ErrNotFound", err)
	}
}
