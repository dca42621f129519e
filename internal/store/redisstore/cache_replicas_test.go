package redisstore

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/cache/cachetest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// cacheReplica is a cache.Cache running over its own Redis client, as in one
// gateway process.
type cacheReplica struct {
	*cache.Cache
	done chan struct{}
}

// startReplica runs a cache over c until the test ends, and waits until it
// has loaded the store.
func startCacheReplica(t *testing.T, c *Client) *cacheReplica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &cacheReplica{Cache: cache.New(cachetest.WordEmbedder{}, NewCacheStore(c, nil), cache.Options{}, nil), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("cache.Run still running 15s after its context was cancelled")
		}
	})
	select {
	case <-r.Ready():
	case <-time.After(15 * time.Second):
		t.Fatal("cache not ready 15s after Run")
	}
	return r
}

var pythonScope = cache.Scope{Tenant: "acme", Model: "auto", Domain: "general"}

// lookup asks r about text in pythonScope.
func (r *cacheReplica) lookup(t *testing.T, text string) cache.Result {
	t.Helper()
	res, err := r.Lookup(context.Background(), cache.Query{Scope: pythonScope, Text: text, SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// eventually reports whether r's lookup of text has outcome want within d.
func (r *cacheReplica) eventually(t *testing.T, d time.Duration, text string, want cache.Outcome) bool {
	t.Helper()
	return waitFor(d, func() bool { return r.lookup(t, text).Outcome == want })
}

// TestCacheSharedAcrossReplicas is the store-level form of "a second
// gateway process sharing Redis hits an entry the first one wrote": two
// caches over two Redis clients see each other's entries, deletions and
// purges within a second, and a replica started later loads them.
func TestCacheSharedAcrossReplicas(t *testing.T) {
	url := testenv.RedisURL(t)
	ca := openClient(t, url)
	a := startCacheReplica(t, ca)
	b := startCacheReplica(t, openClientPrefix(t, url, ca.prefix))

	const q = "What is Python?"
	res := a.lookup(t, q)
	if res.Outcome != cache.Miss {
		t.Fatalf("first lookup on replica a: %v; want a miss", res.Outcome)
	}
	if _, err := a.Put(context.Background(), res, cache.Answer{Text: "A programming language.", Model: "haiku"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !b.eventually(t, time.Second, q, cache.Hit) {
		t.Fatal("replica b does not hit the entry replica a wrote within a second")
	}
	t.Logf("replica b hit replica a's entry after %v", time.Since(start))
	if got := b.lookup(t, q); got.Entry == nil || got.Entry.Answer != "A programming language." || got.Entry.Model != "haiku" {
		t.Errorf("replica b serves %+v", got.Entry)
	}

	// A replica started now loads the entry from the store (warm start).
	c := startCacheReplica(t, openClientPrefix(t, url, ca.prefix))
	if got := c.lookup(t, q).Outcome; got != cache.Hit {
		t.Errorf("replica started later: %v; want a hit from its warm start", got)
	}

	// Deleting the session on b removes the entry everywhere.
	if err := b.DeleteSession(context.Background(), "acme", "s1"); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*cacheReplica{"a": a, "c": c} {
		if !r.eventually(t, time.Second, q, cache.Miss) {
			t.Errorf("replica %s still hits 1s after replica b deleted the session", name)
		}
	}

	// A purge on c reaches a and b.
	res = a.lookup(t, q)
	if _, err := a.Put(context.Background(), res, cache.Answer{Text: "A snake.", Model: "haiku"}); err != nil {
		t.Fatal(err)
	}
	if !c.eventually(t, time.Second, q, cache.Hit) {
		t.Fatal("replica c does not hit the new entry within a second")
	}
	if n, err := c.Purge(context.Background(), cache.Filter{Tenant: "acme"}); err != nil || n != 1 {
		t.Fatalf("Purge(acme) = %d, %v; want 1", n, err)
	}
	for name, r := range map[string]*cacheReplica{"a": a, "b": b} {
		if !r.eventually(t, time.Second, q, cache.Miss) {
			t.Errorf("replica %s still hits 1s after replica c purged the tenant", name)
		}
	}
}

// TestCacheFeedAfterRedisRestart stops Redis under a running replica and
// starts it again: the watcher's channel closes rather than going quiet,
// and the replica re-subscribes and lists the store again by itself, so
// it hits an entry written by another replica after the restart.
func TestCacheFeedAfterRedisRestart(t *testing.T) {
	srv := testenv.NewOwnRedis(t)
	srv.Start(t)
	url := srv.URL()
	ca := openClient(t, url)
	cb := openClientPrefix(t, url, ca.prefix)

	// The store level: the feed closes when its connection fails.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := NewCacheStore(cb, nil).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := startCacheReplica(t, cb)
	srv.Kill()
	select {
	case _, ok := <-feed:
		if ok {
			t.Fatal("a change arrived while Redis was down")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("feed still open 3s after Redis went away")
	}
	srv.Start(t)

	a := startCacheReplica(t, ca) // a replica starting once Redis is back
	const q = "What is Python?"
	res := a.lookup(t, q)
	// b may be re-subscribing yet: the entry must reach it by its feed or
	// by its second List.
	// Connections pooled before the restart may fail one call each.
	var putErr error
	if !waitFor(5*time.Second, func() bool {
		_, putErr = a.Put(context.Background(), res, cache.Answer{Text: "A programming language.", Model: "haiku"})
		return putErr == nil
	}) {
		t.Fatalf("Put after the restart: %v", putErr)
	}
	if !b.eventually(t, 5*time.Second, q, cache.Hit) {
		t.Fatal("replica b does not hit an entry written after Redis came back within 5s")
	}
}

// TestCacheFeedKeepalive cuts the feed's connection silently (a proxy that
// stops forwarding, as a network partition does) and checks that the feed
// notices within two keepalives instead of waiting for ever.
func TestCacheFeedKeepalive(t *testing.T) {
	target := strings.TrimPrefix(testenv.RedisURL(t), "redis://")
	target, _, _ = strings.Cut(target, "/")
	p := startProxy(t, target)
	c := openClient(t, "redis://"+p.addr+"/0")
	s := NewCacheStore(c, nil)
	// Long enough that a ping's answer is never that late on a busy
	// machine, short enough that the test takes seconds.
	s.keepalive = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Quiet for several keepalives: pings keep it open.
	select {
	case _, ok := <-feed:
		t.Fatalf("feed yielded (open=%v) while quiet and connected", ok)
	case <-time.After(3 * s.keepalive):
	}
	// ... and changes still flow after the pings.
	if err := s.Put(ctx, cache.Entry{ID: "after-pings", Scope: pythonScope}); err != nil {
		t.Fatal(err)
	}
	select {
	case c, ok := <-feed:
		if !ok || c.Entry.ID != "after-pings" {
			t.Fatalf("after the pings got %+v (open=%v); want the put", c, ok)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a put after the pings did not arrive within 15s")
	}
	p.frozen.Store(true)
	select {
	case _, ok := <-feed:
		if ok {
			t.Fatal("a change arrived through a frozen connection")
		}
	case <-time.After(2*s.keepalive + 2*time.Second):
		t.Fatalf("feed still open %v after its connection froze", 2*s.keepalive+2*time.Second)
	}
}

// proxy forwards TCP connections to a target; while frozen it swallows
// everything, in both directions.
type proxy struct {
	addr   string
	frozen atomic.Bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex // guards conns
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Go(func() { p.pipe(out, in) })
			wg.Go(func() { p.pipe(in, out) })
		}
	})
	return p
}

func (p *proxy) pipe(dst io.WriteCloser, src io.ReadCloser) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
