// Package rollouttest is the conformance suite of rollout.FlagStore. Every
// backend runs it from its own tests:
//
//	rollouttest.Run(t, func(t *testing.T) (a, b rollout.FlagStore) { … })
//
// It imports testing, so only _test.go files may import it.
package rollouttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/google/go-cmp/cmp"
)

// notifyWithin is how long a Set may take to reach a watcher. The issue's
// bound for every replica to apply a change is 2s; the feed must be faster.
const notifyWithin = 2 * time.Second

// Run checks that stores made by open honour the rollout.FlagStore
// contract. open returns two handles on the same fresh, empty store, as two
// replicas would hold them (they may be the same value for an in-process
// store); it registers its own cleanup with t.
func Run(t *testing.T, open func(t *testing.T) (a, b rollout.FlagStore)) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b rollout.FlagStore)
	}{
		{"Empty", testEmpty},
		{"SetGet", testSetGet},
		{"VersionsIncrease", testVersions},
		{"History", testHistory},
		{"HistoryLimit", testHistoryLimit},
		{"ConcurrentSets", testConcurrentSets},
		{"WatchSeesOtherHandle", testWatch},
		{"WatchClosesOnCancel", testWatchCancel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := open(t)
			tt.fn(t, a, b)
		})
	}
}

func flag(p float64, reason string) rollout.Flag {
	return rollout.Flag{
		Percentage: p, Source: rollout.SourceAdminAPI, Actor: "alice", Reason: reason,
		At: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Ref: "r-" + reason,
	}
}

func testEmpty(t *testing.T, a, _ rollout.FlagStore) {
	ctx := t.Context()
	if _, err := a.Get(ctx); !errors.Is(err, rollout.ErrNoFlag) {
		t.Errorf("Get on an empty store: err = %v; want ErrNoFlag", err)
	}
	h, err := a.History(ctx, 10)
	if err != nil || len(h) != 0 {
		t.Errorf("History on an empty store = %v, %v; want empty, nil", h, err)
	}
}

func testSetGet(t *testing.T, a, b rollout.FlagStore) {
	ctx := t.Context()
	want := flag(12.5, "canary")
	got, err := a.Set(ctx, want)
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
	want.Version = 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Set returned (-want +got):\n%s", diff)
	}
	for name, s := range map[string]rollout.FlagStore{"same handle": a, "other handle": b} {
		got, err := s.Get(ctx)
		if err != nil {
			t.Fatalf("Get (%s): %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get (%s) (-want +got):\n%s", name, diff)
		}
	}

	// A zero At is filled in with the time of the Set.
	before := time.Now().Add(-time.Minute)
	f := flag(20, "no time")
	f.At = time.Time{}
	got, err = a.Set(ctx, f)
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got.At.Before(before) {
		t.Errorf("Set with zero At stored At = %v; want about now", got.At)
	}
}

func testVersions(t *testing.T, a, b rollout.FlagStore) {
	ctx := t.Context()
	for i, s := range []rollout.FlagStore{a, b, a, b} {
		got, err := s.Set(ctx, flag(float64(i*10), fmt.Sprint(i)))
		if err != nil {
			t.Fatalf("Set %d: %v", i, err)
		}
		if got.Version != int64(i+1) {
			t.Errorf("Set %d: version = %d; want %d", i, got.Version, i+1)
		}
	}
	cur, err := b.Get(ctx)
	if err != nil || cur.Version != 4 || cur.Percentage != 30 {
		t.Errorf("Get = %+v, %v; want version 4, percentage 30", cur, err)
	}
}

func testHistory(t *testing.T, a, b rollout.FlagStore) {
	ctx := t.Context()
	for i := range 5 {
		if _, err := a.Set(ctx, flag(float64(i), fmt.Sprint(i))); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	tests := []struct {
		limit int
		want  []int64 // versions, newest first
	}{
		{0, []int64{5, 4, 3, 2, 1}},
		{-1, []int64{5, 4, 3, 2, 1}},
		{2, []int64{5, 4}},
		{9, []int64{5, 4, 3, 2, 1}},
	}
	for _, tt := range tests {
		h, err := b.History(ctx, tt.limit)
		if err != nil {
			t.Fatalf("History(%d): %v", tt.limit, err)
		}
		var got []int64
		for _, f := range h {
			got = append(got, f.Version)
			if want := flag(float64(f.Version-1), fmt.Sprint(f.Version-1)); f.Reason != want.Reason || f.Percentage != want.Percentage || f.Actor != "alice" || f.Source != rollout.SourceAdminAPI {
				t.Errorf("History(%d) entry %d = %+v; want %+v", tt.limit, f.Version, f, want)
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("History(%d) versions (-want +got):\n%s", tt.limit, diff)
		}
	}
}

func testHistoryLimit(t *testing.T, a, _ rollout.FlagStore) {
	ctx := t.Context()
	n := rollout.HistoryLimit + 5
	for i := range n {
		if _, err := a.Set(ctx, flag(float64(i%101), fmt.Sprint(i))); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	h, err := a.History(ctx, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(h) != rollout.HistoryLimit {
		t.Fatalf("History kept %d entries; want %d", len(h), rollout.HistoryLimit)
	}
	if h[0].Version != int64(n) || h[len(h)-1].Version != int64(n-rollout.HistoryLimit+1) {
		t.Errorf("History spans versions %d..%d; want %d..%d", h[0].Version, h[len(h)-1].Version, n, n-rollout.HistoryLimit+1)
	}
}

func testConcurrentSets(t *testing.T, a, b rollout.FlagStore) {
	ctx := t.Context()
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				if _, err := s.Set(ctx, flag(float64(w), fmt.Sprintf("w%d-%d", w, i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Set: %v", err)
	}
	h, err := a.History(ctx, 0)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	if len(h) != writers*each {
		t.Fatalf("History has %d entries after %d Sets; want all of them", len(h), writers*each)
	}
	seen := map[int64]bool{}
	for i, f := range h {
		if seen[f.Version] {
			t.Errorf("version %d given twice", f.Version)
		}
		seen[f.Version] = true
		if want := int64(writers*each - i); f.Version != want {
			t.Errorf("History[%d].Version = %d; want %d (newest first, no gaps)", i, f.Version, want)
		}
	}
	cur, err := b.Get(ctx)
	if err != nil || cur.Version != writers*each || cur.Reason != h[0].Reason {
		t.Errorf("Get = %+v, %v; want the newest history entry %+v", cur, err, h[0])
	}
}

func testWatch(t *testing.T, a, b rollout.FlagStore) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for i := range 3 {
		start := time.Now()
		if _, err := a.Set(ctx, flag(float64(i), "watched")); err != nil {
			t.Fatalf("Set: %v", err)
		}
		timer := time.NewTimer(notifyWithin)
		select {
		case _, ok := <-ch:
			if !ok {
				t.Fatalf("watch channel closed while ctx is live")
			}
		case <-timer.C:
			t.Fatalf("no notification %v after Set %d", notifyWithin, i)
		}
		timer.Stop()
		t.Logf("Set %d seen by the other handle after %v", i, time.Since(start))
		if got, err := b.Get(ctx); err != nil || got.Percentage != float64(i) {
			t.Errorf("Get after notification = %+v, %v; want percentage %d", got, err, i)
		}
		// Drain a coalesced or spurious extra notification.
		select {
		case <-ch:
		default:
		}
	}
}

func testWatchCancel(t *testing.T, _, b rollout.FlagStore) {
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	cancel()
	timer := time.NewTimer(notifyWithin)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatalf("watch channel still open %v after its ctx was cancelled", notifyWithin)
		}
	}
}
