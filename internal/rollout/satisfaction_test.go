package rollout

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/feedback"
)

// ratingsStore is a feedback.Store holding fixed counts, which a real
// feedback.Tally reads on the rig's fake clock.
type ratingsStore struct {
	feedback.Store // only Counts is called
	counts         []feedback.Count
}

func (s *ratingsStore) Counts(context.Context, time.Time, time.Time) ([]feedback.Count, error) {
	return s.counts, nil
}

// ratings returns the counts of n ratings on side, negative of them
// negative and the rest positive.
func ratings(side string, n, negative uint64) []feedback.Count {
	return []feedback.Count{
		{Side: side, Model: side + "-model", Verdict: feedback.Negative, N: negative},
		{Side: side, Model: side + "-model", Verdict: feedback.Positive, N: n - negative},
	}
}

func TestGuardSatisfaction(t *testing.T) {
	tests := []struct {
		name                 string
		newN, newNeg         uint64
		legacyN, legacyNeg   uint64
		want                 bool
		wantReasonSubstrings []string
	}{
		{"new side far worse trips", 100, 30, 100, 10, true, []string{"negative ratings 30.0% of 100", "legacy 10.0% of 100", "more than 10.0 points"}},
		{"just above the margin trips", 100, 21, 100, 10, true, []string{"21.0%"}},
		{"exactly at the margin does not trip", 100, 20, 100, 10, false, nil},
		{"within the margin does not trip", 100, 15, 100, 10, false, nil},
		{"new side better does not trip", 100, 5, 100, 10, false, nil},
		{"new side below min_ratings does not trip", 49, 40, 100, 10, false, nil},
		{"legacy side below min_ratings does not trip", 100, 60, 49, 0, false, nil},
		{"no ratings at all", 0, 0, 0, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newGuardRig(t, 10)
			r.clk.Advance(time.Minute) // the flag was set a minute ago
			store := &ratingsStore{counts: append(ratings(feedback.SideNew, tt.newN, tt.newNeg), ratings(feedback.SideLegacy, tt.legacyN, tt.legacyNeg)...)}
			tally := feedback.NewTally(feedback.TallyOptions{Store: store, Now: r.clk.Now, Floor: func() time.Time { return r.dec.Flag().At }})
			r.guard.opts.Satisfaction = &SatisfactionRule{Margin: 0.10, MinRatings: 50, Read: tally.Snapshot}
			if err := tally.Refresh(t.Context()); err != nil {
				t.Fatal(err)
			}
			r.feed(10, 0, 0) // a few healthy requests: the error rules stay quiet
			got, err := r.guard.Check(t.Context())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Check tripped = %v; want %v", got, tt.want)
			}
			f := r.dec.Flag()
			if !tt.want {
				if f.Percentage != 10 {
					t.Errorf("percentage = %v; want 10", f.Percentage)
				}
				return
			}
			stored, _ := r.store.Get(t.Context())
			if f.Percentage != 0 || f.Source != SourceAutoRollback || f != stored {
				t.Errorf("after trip: applied %+v, stored %+v; want the same 0%% auto_rollback flag", f, stored)
			}
			for _, sub := range tt.wantReasonSubstrings {
				if !strings.Contains(f.Reason, sub) {
					t.Errorf("reason %q; want it to hold %q", f.Reason, sub)
				}
			}
			h, _ := r.store.History(t.Context(), 0)
			if len(h) != 2 || h[0].Reason != f.Reason || h[0].Source != SourceAutoRollback {
				t.Errorf("history = %+v; want the rollback with its reason on top", h)
			}
			gs := r.guard.Stats()
			if gs.LastTrip == nil || gs.LastTrip.Satisfaction[feedback.SideNew].Ratings != tt.newN {
				t.Errorf("last trip = %+v; want the sides' satisfaction", gs.LastTrip)
			}
		})
	}
}

// TestGuardSatisfactionJudgesEachStep checks that counts read before the
// flag last changed do not trip the guard: after an operator raises the
// flag again, only ratings of the new step count.
func TestGuardSatisfactionJudgesEachStep(t *testing.T) {
	r := newGuardRig(t, 10)
	store := &ratingsStore{counts: append(ratings(feedback.SideNew, 100, 50), ratings(feedback.SideLegacy, 100, 5)...)}
	tally := feedback.NewTally(feedback.TallyOptions{Store: store, Now: r.clk.Now, Floor: func() time.Time { return r.dec.Flag().At }})
	r.guard.opts.Satisfaction = &SatisfactionRule{Margin: 0.05, MinRatings: 50, Read: tally.Snapshot}
	ctx := t.Context()

	if tripped, _ := r.guard.Check(ctx); tripped {
		t.Fatal("Check tripped before the tally read anything")
	}
	r.clk.Advance(10 * time.Second)
	if err := tally.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if tripped, _ := r.guard.Check(ctx); !tripped {
		t.Fatal("Check did not trip at 50% negative against 5%")
	}
	// The operator raises the flag again; the tally's last read is older.
	r.clk.Advance(time.Minute)
	f, _ := r.store.Set(ctx, Flag{Percentage: 10, Source: SourceCLI, Actor: "alice", At: r.clk.Now()})
	r.dec.Apply(f)
	r.clk.Advance(time.Second)
	if tripped, _ := r.guard.Check(ctx); tripped {
		t.Fatal("Check tripped on counts read before the flag was raised")
	}
	// The next read counts from the raise on: the new step is healthy.
	store.counts = append(ratings(feedback.SideNew, 60, 3), ratings(feedback.SideLegacy, 60, 3)...)
	if err := tally.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if snap := tally.Snapshot(); !snap.Since.Equal(f.At) {
		t.Errorf("tally counts since %v; want the raise at %v", snap.Since, f.At)
	}
	if tripped, _ := r.guard.Check(ctx); tripped {
		t.Fatal("Check tripped on the healthy new step")
	}
	if gs := r.guard.Stats(); gs.Trips != 1 {
		t.Errorf("trips = %d; want 1", gs.Trips)
	}
}

func TestGuardSatisfactionOff(t *testing.T) {
	r := newGuardRig(t, 10)
	store := &ratingsStore{counts: append(ratings(feedback.SideNew, 500, 500), ratings(feedback.SideLegacy, 500, 0)...)}
	tally := feedback.NewTally(feedback.TallyOptions{Store: store, Now: r.clk.Now})
	if err := tally.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, rule := range []*SatisfactionRule{nil, {Margin: 0, Read: tally.Snapshot}} {
		r.guard.opts.Satisfaction = rule
		if tripped, _ := r.guard.Check(t.Context()); tripped {
			t.Errorf("Check with rule %+v tripped; want the rule off", rule)
		}
	}
}
