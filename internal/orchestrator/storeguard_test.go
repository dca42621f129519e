package orchestrator

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/memory"
)

// hungCache misses every lookup, and its writes hang until their context
// ends, as on a Redis that was stopped; it counts the writes that reached
// it.
type hungCache struct {
	mu   sync.Mutex // guards puts
	puts int
}

func (c *hungCache) Lookup(context.Context, cache.Query) (cache.Result, error) {
	return cache.Result{Outcome: cache.Miss}, nil
}

func (c *hungCache) Put(ctx context.Context, _ cache.Result, _ cache.Answer) (cache.Entry, error) {
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
	<-ctx.Done()
	return cache.Entry{}, ctx.Err()
}

func (c *hungCache) Purge(context.Context, cache.Filter) (int, error) { return 0, nil }
func (c *hungCache) Off() bool                                        { return false }

func (c *hungCache) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.puts
}

// hungMemory's recall hangs until its context ends and counts the calls.
type hungMemory struct {
	mu      sync.Mutex // guards recalls
	recalls int
}

func (m *hungMemory) On(string) bool { return true }

func (m *hungMemory) Recall(ctx context.Context, _ memory.Key, _, _ string) (memory.Recalled, error) {
	m.mu.Lock()
	m.recalls++
	m.mu.Unlock()
	<-ctx.Done()
	return memory.Recalled{}, ctx.Err()
}

func (m *hungMemory) Record(memory.Interaction) {}

func (m *hungMemory) calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recalls
}

// TestHungStoreFailsFast: a cache and a long-term memory whose store hangs
// cost one request their timeouts; the next requests skip them until the
// retry interval has passed, when one request probes the store again.
func TestHungStoreFailsFast(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	c, m := &hungCache{}, &hungMemory{}
	o := New(Options{Models: []string{"m", "m2"}, Caller: &fakeCaller{}, Router: fixedRouter{},
		Cache: c, Memory: m, StoreRetryAfter: time.Minute, Now: clock})
	ask := func() *Answer {
		t.Helper()
		ans, err := o.Answer(context.Background(), &Query{Tenant: "acme", User: "u-1",
			Request: &llm.Request{Model: Auto, Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is Go?"}}}})
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		return ans
	}
	steps := []struct {
		name                string
		advance             time.Duration
		wantPuts, wantCalls int
	}{
		{"first request waits for both stores", 0, 1, 1},
		{"the next ones skip them", 0, 1, 1},
		{"still within the retry interval", 59 * time.Second, 1, 1},
		{"after it one request probes again", 2 * time.Second, 2, 2},
		{"the probe failed: skipped again", 0, 2, 2},
	}
	for _, s := range steps {
		advance(s.advance)
		ans := ask()
		if got := ans.Degraded; len(got) != 1 || got[0] != degradedMemory {
			t.Errorf("%s: Degraded = %v; want [%s]", s.name, got, degradedMemory)
		}
		if got := c.calls(); got != s.wantPuts {
			t.Errorf("%s: cache writes = %d; want %d", s.name, got, s.wantPuts)
		}
		if got := m.calls(); got != s.wantCalls {
			t.Errorf("%s: recalls = %d; want %d", s.name, got, s.wantCalls)
		}
	}
}

// TestStoreGuardIgnoresTheCallersCancellation: a caller that gives up says
// nothing about the store, so the next call still reaches it.
func TestStoreGuardIgnoresTheCallersCancellation(t *testing.T) {
	g := newStoreGuard("cache_store", time.Minute, time.Minute, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = g.call(ctx, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	reached := false
	if err := g.call(context.Background(), func(context.Context) error { reached = true; return nil }); err != nil || !reached {
		t.Fatalf("call after a cancelled one: err %v, reached %v; want nil, true", err, reached)
	}
}
