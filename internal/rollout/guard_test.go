package rollout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type guardRig struct {
	clk   *fakeClock
	store *MemoryStore
	dec   *Decider
	stats *Stats
	guard *Guard
}

func newGuardRig(t *testing.T, pct float64) *guardRig {
	t.Helper()
	r := &guardRig{clk: newFakeClock(), store: &MemoryStore{}}
	f, err := r.store.Set(t.Context(), Flag{Percentage: pct, Source: SourceCLI, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r.dec = NewDecider(f, DeciderOptions{})
	r.stats = NewStats(StatsOptions{Window: time.Minute, SlowAfter: 2 * time.Second, Now: r.clk.Now})
	r.guard = NewGuard(GuardOptions{Enabled: true, ErrorRate: 0.01, MinRequests: 100, Store: r.store, Decider: r.dec, Stats: r.stats, Actor: "replica-1", Log: discard(), Now: r.clk.Now})
	return r
}

// feed records n new-side requests, the first failures of them failed and
// the first slow of them taking 3s.
func (r *guardRig) feed(n, failures, slow int) {
	for i := range n {
		o := Outcome{Side: SideNew, Latency: 50 * time.Millisecond, Status: 200}
		if i < failures {
			o.Status = 502
		}
		if i < slow {
			o.Latency = 3 * time.Second
		}
		r.stats.Observe(o)
		r.clk.Advance(10 * time.Millisecond)
	}
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name                string
		n, failures, slow   int
		want                bool
		wantReasonSubstring string
	}{
		{"healthy", 1000, 5, 5, false, ""},
		{"error rate at 1% does not trip", 1000, 10, 0, false, ""},
		{"error rate above 1% trips", 1000, 11, 0, true, "error rate 1.10%"},
		{"handful of errors below the minimum sample", 99, 10, 0, false, ""},
		{"p99 above 2s trips", 500, 0, 6, true, "p99 above 2s"},
		{"legacy-only errors do not count", 0, 0, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newGuardRig(t, 10)
			for range 200 {
				r.stats.Observe(Outcome{Side: SideLegacy, Status: 503})
			}
			r.feed(tt.n, tt.failures, tt.slow)
			got, err := r.guard.Check(t.Context())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Check tripped = %v; want %v", got, tt.want)
			}
			f := r.dec.Flag()
			stored, _ := r.store.Get(t.Context())
			if !tt.want {
				if f.Percentage != 10 || stored.Percentage != 10 {
					t.Errorf("after no trip: applied %v%%, stored %v%%; want 10%%", f.Percentage, stored.Percentage)
				}
				return
			}
			if f.Percentage != 0 || f.Source != SourceAutoRollback || f != stored {
				t.Errorf("after trip: applied %+v, stored %+v; want the same 0%% auto_rollback flag", f, stored)
			}
			if f.Actor != "replica-1" || !strings.Contains(f.Reason, tt.wantReasonSubstring) {
				t.Errorf("trip flag actor %q reason %q; want replica-1 and %q", f.Actor, f.Reason, tt.wantReasonSubstring)
			}
			if gs := r.guard.Stats(); gs.Trips != 1 || gs.LastTrip == nil || gs.LastTrip.Reason != f.Reason {
				t.Errorf("Guard.Stats = %+v; want one trip with the flag's reason", gs)
			}
		})
	}
}

func TestGuardStaysDownUntilRaised(t *testing.T) {
	r := newGuardRig(t, 10)
	ctx := t.Context()
	r.feed(200, 20, 0)
	if tripped, _ := r.guard.Check(ctx); !tripped {
		t.Fatal("Check did not trip at 10% errors")
	}
	// Forced traffic at 0% does not trip it again, nor move the flag.
	r.feed(200, 200, 0)
	if tripped, _ := r.guard.Check(ctx); tripped || r.dec.Flag().Percentage != 0 {
		t.Fatalf("Check at 0%%: tripped %v, percentage %v; want no trip and 0", tripped, r.dec.Flag().Percentage)
	}
	h, _ := r.store.History(ctx, 0)
	if len(h) != 2 {
		t.Fatalf("history has %d entries; want the operator's and one rollback", len(h))
	}
	// The operator raises it again: old samples do not count.
	f, _ := r.store.Set(ctx, Flag{Percentage: 10, Source: SourceCLI, Actor: "alice"})
	r.dec.Apply(f)
	if tripped, _ := r.guard.Check(ctx); tripped {
		t.Fatal("Check tripped on samples from before the operator raised the flag")
	}
	r.feed(150, 1, 0)
	if tripped, _ := r.guard.Check(ctx); tripped {
		t.Fatal("Check tripped on healthy traffic after the raise")
	}
	if gs := r.guard.Stats(); gs.Trips != 1 {
		t.Errorf("trips = %d; want 1", gs.Trips)
	}
}

type failingStore struct{ MemoryStore }

func (*failingStore) Set(context.Context, Flag) (Flag, error) {
	return Flag{}, errors.New("READONLY")
}

func TestGuardStoreDownStillRollsBackHere(t *testing.T) {
	r := newGuardRig(t, 50)
	r.guard.opts.Store = &failingStore{}
	r.feed(200, 50, 0)
	tripped, err := r.guard.Check(t.Context())
	if !tripped || err == nil {
		t.Fatalf("Check = %v, %v; want a trip and the store's error", tripped, err)
	}
	if got := r.dec.Flag().Percentage; got != 0 {
		t.Errorf("percentage here = %v; want 0 even though the store refused", got)
	}
}

func TestGuardDisabled(t *testing.T) {
	r := newGuardRig(t, 10)
	r.guard.opts.Enabled = false
	r.feed(1000, 1000, 0)
	if tripped, _ := r.guard.Check(t.Context()); tripped {
		t.Error("a disabled Guard tripped")
	}
	if err := r.guard.Run(t.Context()); err != nil {
		t.Errorf("Run of a disabled guard = %v; want nil at once", err)
	}
}
