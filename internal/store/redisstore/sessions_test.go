package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/session/sessiontest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// openClient connects to the test Redis with a key prefix of its own.
func openClient(t testing.TB, raw string) *Client {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	return openClientPrefix(t, raw, "test-"+hex.EncodeToString(b)+":")
}

// openClientPrefix connects to the test Redis with the given key prefix
// (a second replica of a test's first client), and deletes the prefix's
// keys at the end.
func openClientPrefix(t testing.TB, raw, prefix string) *Client {
	t.Helper()
	o, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	o.Prefix = prefix
	c, err := Open(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave the shared server as it was.
		ctx := context.Background()
		iter := c.rdb.Scan(ctx, 0, "*"+o.Prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.rdb.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return c
}

func TestSessionStore(t *testing.T) {
	c := openClient(t, testenv.RedisURL(t))
	sessiontest.Run(t, func(t *testing.T, o session.StoreOptions) session.Store {
		return NewSessionStore(c, o)
	})
}

// TestSessionServerExpiry checks that Redis itself drops an idle session
// after the TTL, without waiting more than a bounded time.
func TestSessionServerExpiry(t *testing.T) {
	c := openClient(t, testenv.RedisURL(t))
	// The TTL is long enough that a busy machine cannot stall the test
	// past it between the Append and the PTTLs below.
	const ttl = 2 * time.Second
	s := NewSessionStore(c, session.StoreOptions{TTL: ttl})
	k := session.Key{Tenant: "acme", ID: "brief"}
	if err := s.Append(t.Context(), k, session.Turn{Role: "user", Content: "hi"}); err != nil {
		t.Fatal(err)
	}
	keys := s.keys(k)
	for _, key := range keys {
		got, err := c.rdb.PTTL(t.Context(), key).Result()
		if err != nil || got <= 0 || got > ttl {
			t.Fatalf("PTTL(%s) = %v, %v; want within (0, %v]", key, got, err, ttl)
		}
	}
	deadline := time.Now().Add(ttl + 15*time.Second)
	for {
		n, err := c.rdb.Exists(t.Context(), keys...).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys still exist 15s after their %v TTL", n, ttl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := s.Load(t.Context(), k); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Load after server expiry: %v; want ErrNotFound", err)
	}
}
