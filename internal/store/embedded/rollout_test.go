package embedded

import (
	"testing"

	"github.com/cato-gateway/cato/internal/rollout"
	"github.com/cato-gateway/cato/internal/rollout/rollouttest"
)

func TestFlagStore(t *testing.T) {
	rollouttest.Run(t, func(t *testing.T) (a, b rollout.FlagStore) {
		// Two stores on one DB, as two parts of the gateway would hold them.
		db := openDB(t, t.TempDir())
		return NewFlagStore(db), NewFlagStore(db)
	})
}

// TestFlagSurvivesReopen checks that the flag and its history are on disk,
// and that versions go on from the stored ones after a restart.
func TestFlagSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, p := range []float64{10, 50} {
		if _, err := NewFlagStore(db).Set(ctx, rollout.Flag{Percentage: p, Source: rollout.SourceCLI, Actor: "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := NewFlagStore(openDB(t, dir))
	got, err := s.Get(ctx)
	if err != nil || got.Percentage != 50 || got.Version != 2 || got.Actor != "ops" {
		t.Fatalf("Get after reopen = %+v, %v; want 50%% version 2 by ops", got, err)
	}
	next, err := s.Set(ctx, rollout.Flag{Percentage: 0, Source: rollout.SourceCLI})
	if err != nil || next.Version != 3 {
		t.Errorf("Set after reopen = %+v, %v; want version 3", next, err)
	}
	if h, err := s.History(ctx, 0); err != nil || len(h) != 3 {
		t.Errorf("History after reopen has %d entries, %v; want 3", len(h), err)
	}
}
