package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/rollouttest"
	"github.com/cato-gateway/cato/internal/testenv"
)

// openReplicas returns two clients of the test Redis with the same fresh
// prefix: two replicas sharing one store, each with its own connections.
// The second client's connections are named name, so that a test can find
// them in CLIENT LIST.
func openReplicas(t *testing.T, name string) (a, b *Client) {
	t.Helper()
	raw := testenv.RedisURL(t)
	a = openClient(t, raw)
	o, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	o.Prefix = a.prefix
	o.Redis.ClientName = name
	b, err = Open(t.Context(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

func uniqueName(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "cato-test-" + hex.EncodeToString(b)
}

func TestFlagStore(t *testing.T) {
	rollouttest.Run(t, func(t *testing.T) (a, b rollout.FlagStore) {
		ca, cb := openReplicas(t, uniqueName(t))
		return NewFlagStore(ca), NewFlagStore(cb)
	})
}

// replica is one gateway's view of the flag: its own client, Decider and
// Poller, as app wires them.
type replica struct {
	store *FlagStore
	dec   *rollout.Decider
}

func startReplica(t *testing.T, c *Client, store rollout.FlagStore) *replica {
	t.Helper()
	dec := rollout.NewDecider(rollout.Flag{}, rollout.DeciderOptions{})
	p := rollout.NewPoller(store, dec, time.Second, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Poller.Run = %v; want nil after cancel", err)
		}
	})
	return &replica{store: NewFlagStore(c), dec: dec}
}

// waitApplied waits up to 5s for dec to apply version v and returns how
// long it took from start.
func waitApplied(t *testing.T, dec *rollout.Decider, v int64, start time.Time) time.Duration {
	t.Helper()
	deadline := start.Add(5 * time.Second)
	for dec.Flag().Version < v {
		if time.Now().After(deadline) {
			t.Fatalf("version %d not applied 5s after it was set; decider has %+v", v, dec.Flag())
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// feedless hides a store's change feed, so that only polling brings
// changes in.
type feedless struct{ rollout.FlagStore }

func (feedless) Watch(context.Context) (<-chan struct{}, error) {
	return nil, errors.New("feed disabled by the test")
}

// TestReplicasApplyWithin2s is the measurement: two replicas, each
// with its own Redis client, Decider and Poller; a change (raise, then
// `cato rollout rollback`) written through one reaches the other's Decider
// within 2 seconds, through pub/sub and, with the feed disabled, through
// polling alone.
func TestReplicasApplyWithin2s(t *testing.T) {
	const bound = 2 * time.Second
	tests := []struct {
		name string
		wrap func(rollout.FlagStore) rollout.FlagStore
	}{
		{"pubsub", func(s rollout.FlagStore) rollout.FlagStore { return s }},
		{"polling only", func(s rollout.FlagStore) rollout.FlagStore { return feedless{s} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, cb := openReplicas(t, uniqueName(t))
			a := startReplica(t, ca, tt.wrap(NewFlagStore(ca)))
			b := startReplica(t, cb, tt.wrap(NewFlagStore(cb)))
			time.Sleep(50 * time.Millisecond) // let both subscribe; not asserted on

			var worst time.Duration
			steps := []rollout.Flag{
				{Percentage: 10, Source: rollout.SourceCLI, Actor: "ops", Reason: "phase 4 step 1"},
				{Percentage: 50, Source: rollout.SourceCLI, Actor: "ops", Reason: "phase 4 step 2"},
				{Percentage: 0, Source: rollout.SourceCLI, Actor: "ops", Reason: "rollback"},
			}
			for i, f := range steps {
				from, to := a, b
				if i%2 == 1 {
					from, to = b, a
				}
				start := time.Now()
				set, err := from.store.Set(t.Context(), f)
				if err != nil {
					t.Fatal(err)
				}
				d := waitApplied(t, to.dec, set.Version, start)
				waitApplied(t, from.dec, set.Version, start)
				if got := to.dec.Flag(); got.Percentage != f.Percentage || got.Reason != f.Reason {
					t.Errorf("other replica applied %+v; want %v%% (%s)", got, f.Percentage, f.Reason)
				}
				t.Logf("%s: %v%% (%s) set on one replica, applied by the other after %v", tt.name, f.Percentage, f.Reason, d)
				worst = max(worst, d)
			}
			if worst >= bound {
				t.Errorf("slowest change took %v to reach the other replica; want < %v", worst, bound)
			}
			for _, r := range []*replica{a, b} {
				if got := r.dec.Flag().Percentage; got != 0 {
					t.Errorf("after rollback a replica decides against %v%%; want 0", got)
				}
			}
		})
	}
}

// subscribers returns the ids of the subscription connections of clients
// named name.
func subscribers(t *testing.T, c *Client, name string) []string {
	t.Helper()
	list, err := c.rdb.ClientList(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.Lines(list) {
		f := map[string]string{}
		for field := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(field, "=")
			f[k] = v
		}
		if f["name"] == name && f["sub"] != "" && f["sub"] != "0" {
			ids = append(ids, f["id"])
		}
	}
	return ids
}

// killPubSub closes, from the server side, the subscription connections
// of clients named name, and returns how many it closed.
func killPubSub(t *testing.T, c *Client, name string) int {
	t.Helper()
	ids := subscribers(t, c, name)
	for _, id := range ids {
		if err := c.rdb.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return len(ids)
}

// TestWatchConnectionKilled checks the reconnect path: when Redis drops the
// subscription's connection, Watch's channel closes, a new Watch works, and
// a replica's Poller still applies a change within 2 seconds.
func TestWatchConnectionKilled(t *testing.T) {
	name := uniqueName(t)
	ca, cb := openReplicas(t, name)
	sb := NewFlagStore(cb)
	ch, err := sb.Watch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := killPubSub(t, ca, name); n != 1 {
		t.Fatalf("killed %d subscription connections; want 1", n)
	}
	select {
	case _, ok := <-ch:
		if ok {
			// A notification is allowed; the close must follow.
			if _, ok := <-ch; ok {
				t.Fatal("watch channel still open after its connection was killed")
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch channel still open 5s after its connection was killed")
	}

	// The client resubscribes on a new connection when its subscription's
	// is killed, until the closed Watch closes it, and Redis can list a
	// closed connection for a moment: wait until none is listed, so that
	// the one counted below is the Poller's.
	deadline := time.Now().Add(15 * time.Second)
	for len(subscribers(t, ca, name)) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a subscription of the closed Watch is still listed after 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := startReplica(t, cb, sb)
	// The Poller subscribes as it starts; on a busy machine that can take
	// a while, and there must be a subscription to kill.
	for len(subscribers(t, ca, name)) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the Poller has not subscribed within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := killPubSub(t, ca, name); n != 1 {
		t.Fatalf("killed %d subscription connections of the Poller; want 1", n)
	}
	start := time.Now()
	set, err := NewFlagStore(ca).Set(t.Context(), rollout.Flag{Percentage: 0, Source: rollout.SourceCLI, Reason: "rollback"})
	if err != nil {
		t.Fatal(err)
	}
	d := waitApplied(t, b.dec, set.Version, start)
	t.Logf("change applied %v after the replica's subscription was killed", d)
	if d >= 2*time.Second {
		t.Errorf("change applied after %v; want < 2s", d)
	}
	// The Poller subscribes again on a tick, so the feed is back.
	deadline = time.Now().Add(15 * time.Second)
	for len(subscribers(t, ca, name)) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the Poller has not subscribed again 15s after its subscription was killed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFlagStoreRedisDown checks that every call fails, and fails fast, when
// Redis cannot be reached, so that Poller keeps the last flag and polls.
func TestFlagStoreRedisDown(t *testing.T) {
	o, err := ParseURL("redis://127.0.0.1:" + testenv.SparePort(t) + "/0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{rdb: redis.NewClient(o.Redis), prefix: DefaultPrefix, log: slog.New(slog.DiscardHandler)}
	defer c.Close()
	s := NewFlagStore(c)
	ctx := t.Context()
	start := time.Now()
	if _, err := s.Get(ctx); err == nil || errors.Is(err, rollout.ErrNoFlag) {
		t.Errorf("Get = %v; want a connection error", err)
	}
	if _, err := s.Set(ctx, rollout.Flag{Source: rollout.SourceCLI}); err == nil {
		t.Error("Set succeeded with Redis down")
	}
	if _, err := s.History(ctx, 0); err == nil {
		t.Error("History succeeded with Redis down")
	}
	if _, err := s.Watch(ctx); err == nil {
		t.Error("Watch succeeded with Redis down")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("four calls took %v with Redis down; want them to fail fast", d)
	}
}
