package feedback

import (
	"context"
	"testing"
	"time"
)

// spanStore records the span Counts is asked for.
type spanStore struct {
	Store
	since, until time.Time
}

func (s *spanStore) Counts(_ context.Context, since, until time.Time) ([]Count, error) {
	s.since, s.until = since, until
	return []Count{{Side: SideNew, Model: "m", Verdict: Negative, N: 3}, {Side: SideNew, Model: "m", Verdict: Positive, N: 1}}, nil
}

func TestTallyWindowAndFloor(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	floor := now.Add(-2 * time.Hour)
	st := &spanStore{}
	tl := NewTally(TallyOptions{Store: st, Window: time.Hour, Now: func() time.Time { return now }, Floor: func() time.Time { return floor }})
	if snap := tl.Snapshot(); !snap.Until.IsZero() || len(snap.Sides) != 2 {
		t.Errorf("before the first read: %+v; want zero times and both sides empty", snap)
	}
	if err := tl.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-time.Hour); !st.since.Equal(want) || !st.until.After(now) {
		t.Errorf("Counts asked for [%v, %v); want from %v through now", st.since, st.until, want)
	}
	snap := tl.Snapshot()
	if s := snap.Sides[SideNew]; s.Ratings != 4 || s.NegativeShare != 0.75 || snap.Models["m"].Negative != 3 {
		t.Errorf("snapshot = %+v; want 4 new-side ratings, 3 negative", snap)
	}
	// The rollout changed ten minutes ago: count from then.
	floor = now.Add(-10 * time.Minute)
	if err := tl.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !st.since.Equal(floor) || !tl.Snapshot().Since.Equal(floor) {
		t.Errorf("Counts from %v, snapshot since %v; want the floor %v", st.since, tl.Snapshot().Since, floor)
	}
}
