package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
	"github.com/cato-gateway/cato/internal/testenv"
)

// waitFor polls cond every 10ms and reports whether it held within d:
// false only once a check begun after d has failed, so that a check that a
// busy machine slowed down past d does not count against the bound.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		began := time.Now()
		if cond() {
			return true
		}
		if !began.Before(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRedisGoesAway stops Redis under traffic and starts it again: calls
// fail fast while it is away, Memory reports it unhealthy, then recovers by
// itself, and every exchange acknowledged before, during or after the
// outage is still stored.
func TestRedisGoesAway(t *testing.T) {
	srv := testenv.NewOwnRedis(t)
	srv.Start(t)

	o, err := ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(t.Context(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := session.NewTokenizer()
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	mem, err := session.NewMemory(NewSessionStore(c, session.StoreOptions{}), session.MemoryOptions{
		Timeout: timeout, RetryAfter: 50 * time.Millisecond, Tokenizer: tok,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()

	const clients = 4
	var (
		stop     atomic.Bool
		okCalls  atomic.Int64
		failures atomic.Int64
		slowest  atomic.Int64 // nanoseconds of the slowest failed call
		wg       sync.WaitGroup
		acked    [clients][]string // questions whose Record succeeded, per client
	)
	ctx := context.Background()
	for i := range clients {
		wg.Go(func() {
			k := session.Key{Tenant: "acme", ID: fmt.Sprint("client-", i)}
			for n := 0; !stop.Load(); n++ {
				q := fmt.Sprintf("question %d", n)
				start := time.Now()
				req := &llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: q}}}
				_, _, err := mem.Context(ctx, k, req)
				if err == nil {
					err = mem.Record(ctx, k, session.Exchange{Question: q, Answer: "answer", Model: "m"})
				}
				if err == nil {
					okCalls.Add(1)
					acked[i] = append(acked[i], q)
					continue
				}
				if !errors.Is(err, session.ErrUnavailable) {
					t.Errorf("client %d: %v; want ErrUnavailable", i, err)
					return
				}
				failures.Add(1)
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d)
				}
				time.Sleep(5 * time.Millisecond) // a client backing off
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	if !waitFor(5*time.Second, func() bool { return okCalls.Load() >= 50 }) {
		t.Fatalf("only %d calls succeeded before the outage", okCalls.Load())
	}
	srv.Kill()
	if !waitFor(5*time.Second, func() bool { return !mem.Healthy() }) {
		t.Fatal("Memory still healthy 5s after Redis went away")
	}
	okAtStop := okCalls.Load()
	if !waitFor(5*time.Second, func() bool { return failures.Load() >= 20 }) {
		t.Fatalf("only %d calls failed while Redis was away", failures.Load())
	}
	srv.Start(t)
	if !waitFor(10*time.Second, func() bool { return mem.Healthy() && okCalls.Load() > okAtStop+50 }) {
		t.Fatalf("not recovered 10s after Redis came back: healthy=%v, %d calls since", mem.Healthy(), okCalls.Load()-okAtStop)
	}
	stop.Store(true)
	wg.Wait()

	// Two timeouts (Context and Record) is the most a failing call may take,
	// plus scheduling slack under -race.
	if d := time.Duration(slowest.Load()); d > 2*timeout+500*time.Millisecond {
		t.Errorf("slowest failed call took %v; want it to fail fast", d)
	}
	store := NewSessionStore(c, session.StoreOptions{})
	for i := range clients {
		s, err := store.Load(ctx, session.Key{Tenant: "acme", ID: fmt.Sprint("client-", i)})
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, tu := range s.Turns {
			have[tu.Content] = true
		}
		for _, q := range acked[i] {
			if !have[q] {
				t.Errorf("client %d: acknowledged %q is not stored", i, q)
			}
		}
	}
	t.Logf("%d calls succeeded, %d failed fast (slowest %v)", okCalls.Load(), failures.Load(), time.Duration(slowest.Load()))
}
