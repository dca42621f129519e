package rollout

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// feedless is a FlagStore whose change feed is broken, so only polling
// brings changes in.
type feedless struct{ *MemoryStore }

func (feedless) Watch(context.Context) (<-chan struct{}, error) {
	return nil, errors.New("pub/sub down")
}

// flaky fails Get while fail is set.
type flaky struct {
	*MemoryStore
	mu   sync.Mutex
	fail bool
}

func (f *flaky) Get(ctx context.Context) (Flag, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return Flag{}, errors.New("connection refused")
	}
	return f.MemoryStore.Get(ctx)
}

func startPoller(t *testing.T, store FlagStore, dec *Decider) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	p := NewPoller(store, dec, time.Second, discard())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v; want nil after cancel", err)
		}
	}
}

func TestPollerAppliesFromFeedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &MemoryStore{}
		dec := NewDecider(Flag{Percentage: 100}, DeciderOptions{})
		stop := startPoller(t, store, dec)
		defer stop()
		synctest.Wait()

		start := time.Now()
		if _, err := store.Set(t.Context(), Flag{Percentage: 0, Source: SourceCLI, Actor: "bob"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := dec.Flag(); got.Percentage != 0 || got.Version != 1 {
			t.Fatalf("flag after Set = %+v; want 0%% version 1", got)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("change applied after %v of fake time; want at once through the feed", d)
		}
	})
}

func TestPollerPollsWithoutFeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := feedless{&MemoryStore{}}
		dec := NewDecider(Flag{Percentage: 100}, DeciderOptions{})
		stop := startPoller(t, store, dec)
		defer stop()
		synctest.Wait()

		start := time.Now()
		if _, err := store.Set(t.Context(), Flag{Percentage: 0, Source: SourceCLI}); err != nil {
			t.Fatal(err)
		}
		for dec.Flag().Version != 1 {
			time.Sleep(100 * time.Millisecond) // fake time: advances the bubble's clock
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("change applied after %v by polling; want within 2s", d)
		}
	})
}

func TestPollerKeepsFlagWhileStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := &MemoryStore{}
		store := &flaky{MemoryStore: mem}
		if _, err := mem.Set(t.Context(), Flag{Percentage: 10, Source: SourceConfig}); err != nil {
			t.Fatal(err)
		}
		dec := NewDecider(Flag{}, DeciderOptions{})
		stop := startPoller(t, store, dec)
		defer stop()
		synctest.Wait()

		setFail := func(v bool) { store.mu.Lock(); store.fail = v; store.mu.Unlock() }
		setFail(true)
		if _, err := mem.Set(t.Context(), Flag{Percentage: 50, Source: SourceCLI}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if got := dec.Flag().Percentage; got != 10 {
			t.Errorf("percentage while the store fails = %v; want the last one read, 10", got)
		}
		setFail(false)
		time.Sleep(1100 * time.Millisecond)
		if got := dec.Flag().Percentage; got != 50 {
			t.Errorf("percentage once the store answers again = %v; want 50", got)
		}
	})
}

func TestPollerStoreWentBackwards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := feedless{&MemoryStore{}}
		if _, err := store.Set(t.Context(), Flag{Percentage: 30, Source: SourceConfig}); err != nil {
			t.Fatal(err)
		}
		// The replica applied version 7 before the store was wiped.
		dec := NewDecider(Flag{Percentage: 80, Version: 7}, DeciderOptions{})
		stop := startPoller(t, store, dec)
		defer stop()
		time.Sleep(1500 * time.Millisecond)
		if got := dec.Flag().Percentage; got != 80 {
			t.Fatalf("after one poll percentage = %v; want 80 (one low read may be stale)", got)
		}
		time.Sleep(2 * time.Second)
		if got := dec.Flag(); got.Percentage != 30 || got.Version != 1 {
			t.Errorf("after repeated low reads flag = %+v; want the store's 30%% version 1", got)
		}
	})
}

func TestSeed(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name     string
		before   []Flag
		config   float64
		wantPct  float64
		wantSets int
	}{
		{"empty store takes the file", nil, 10, 10, 1},
		{"later change survives a restart", []Flag{{Percentage: 10, Source: SourceConfig}, {Percentage: 0, Source: SourceAutoRollback}}, 10, 0, 2},
		{"edited file wins", []Flag{{Percentage: 10, Source: SourceConfig}, {Percentage: 0, Source: SourceCLI}}, 50, 50, 3},
		{"no config entry: store wins", []Flag{{Percentage: 20, Source: SourceAdminAPI}}, 100, 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &MemoryStore{}
			for _, f := range tt.before {
				if _, err := store.Set(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Seed(ctx, store, tt.config, "replica-1")
			if err != nil {
				t.Fatalf("Seed: %v", err)
			}
			h, _ := store.History(ctx, 0)
			if got.Percentage != tt.wantPct || len(h) != tt.wantSets || got != h[0] {
				t.Errorf("Seed = %+v with %d stored changes; want %v%% as the newest of %d", got, len(h), tt.wantPct, tt.wantSets)
			}
		})
	}
	if _, err := Seed(ctx, &MemoryStore{}, 101, "x"); !errors.Is(err, ErrInvalidFlag) {
		t.Errorf("Seed(101) err = %v; want ErrInvalidFlag", err)
	}
}
