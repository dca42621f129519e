package redisstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
	"github.com/cato-gateway/cato/internal/testenv"
)

func TestCacheStore(t *testing.T) {
	url := testenv.RedisURL(t)
	cachetest.Run(t, func(t *testing.T) cache.Store {
		return NewCacheStore(openClient(t, url), nil)
	})
}

// TestCacheStoreReplicas runs the replica suite on two clients (two
// connection pools, as two gateway processes have) on one prefix.
func TestCacheStoreReplicas(t *testing.T) {
	url := testenv.RedisURL(t)
	cachetest.RunReplicas(t, func(t *testing.T) (cache.Store, cache.Store) {
		a := openClient(t, url)
		b := openClientPrefix(t, url, a.prefix)
		return NewCacheStore(a, nil), NewCacheStore(b, nil)
	})
}

// TestCacheServerExpiry checks that Redis itself drops an entry at its
// ExpiresAt, index members included once the indexes expire.
func TestCacheServerExpiry(t *testing.T) {
	c := openClient(t, testenv.RedisURL(t))
	s := NewCacheStore(c, nil)
	e := cachetest.NewEntry("brief", "acme", "auto", "s1")
	// The TTL is long enough that a busy machine cannot stall the test
	// past it between the Put and the PTTLs below; what is checked is that
	// Redis holds the expiry, and drops the keys at it.
	const ttl = 2 * time.Second
	e.ExpiresAt = time.Now().Add(ttl)
	if err := s.Put(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	keys := []string{s.entryKey("brief"), s.base + ":all", s.key("t", "acme"), s.key("m", "auto"), s.key("m", "auto-answered"), s.key("s", "s1")}
	for _, k := range keys {
		got, err := c.rdb.PTTL(t.Context(), k).Result()
		if err != nil || got <= 0 || got > ttl {
			t.Fatalf("PTTL(%s) = %v, %v; want within (0, %v]", k, got, err, ttl)
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
}

// TestCacheIndexesShed checks that a Put drops the members of expired
// entries from the indexes it touches, so that an index written to
// forever does not grow forever.
func TestCacheIndexesShed(t *testing.T) {
	c := openClient(t, testenv.RedisURL(t))
	now := time.Now()
	s := NewCacheStore(c, func() time.Time { return now })
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		e := cachetest.NewEntry(id, "acme", "auto", "")
		e.ExpiresAt = now.Add(time.Minute)
		if err := s.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute) // a, b and c have expired (by the store's clock)
	e := cachetest.NewEntry("d", "acme", "auto", "")
	e.ExpiresAt = now.Add(time.Hour)
	if err := s.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{s.base + ":all", s.key("t", "acme"), s.key("m", "auto")} {
		if n, err := c.rdb.ZCard(ctx, k).Result(); err != nil || n != 1 {
			t.Errorf("ZCARD %s = %d, %v; want 1", k, n, err)
		}
	}
	var got []string
	if err := s.List(ctx, func(e cache.Entry) error { got = append(got, e.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "d" {
		t.Errorf("List = %v; want [d]", got)
	}
}

// BenchmarkCachePut measures one Put of an entry with a 384-dimension
// vector: one round trip.
func BenchmarkCachePut(b *testing.B) {
	s := NewCacheStore(openClient(b, testenv.RedisURL(b)), nil)
	e := cachetest.NewEntry("x", "bench", "m", "s")
	e.Vector = make([]float32, 384)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.ID = "bench-" + strconv.Itoa(i)
		i++
		if err := s.Put(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if _, err := s.Purge(context.Background(), cache.Filter{Tenant: "bench"}); err != nil {
		b.Fatal(err)
	}
}
