package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAdminSetView(t *testing.T) {
	store := &MemoryStore{}
	dec := NewDecider(Flag{Percentage: 100, Source: SourceConfig}, DeciderOptions{})
	a := NewAdmin(AdminOptions{Store: store, Decider: dec, Log: discard()})
	ctx := t.Context()

	v, err := a.View(ctx, AdminHistory)
	if err != nil || *v.UseNewOrchestrator.Percentage != 100 || len(v.History) != 0 || v.History == nil {
		t.Fatalf("View on an empty store = %+v, %v; want 100%% from the replica's start, an empty history", v, err)
	}
	f, err := ParseChange([]byte(`{"use_new_orchestrator": {"percentage": 10}, "actor": "alice", "reason": "phase 4 step 1", "source": "cli"}`))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := a.Set(ctx, f)
	if err != nil || stored.Percentage != 10 || stored.Actor != "alice" || stored.Source != SourceCLI || stored.Version != 1 {
		t.Errorf("Set = %+v, %v; want 10%% by alice from cli, version 1", stored, err)
	}
	if got := dec.Flag(); got.Percentage != 10 || got.Version != 1 {
		t.Errorf("replica's flag after Set = %+v; want 10%% at once", got)
	}
	if _, err := a.Set(ctx, Flag{Percentage: 0, Source: SourceAdminAPI}); err != nil {
		t.Fatal(err)
	}
	v, err = a.View(ctx, 1)
	if err != nil || len(v.History) != 1 || v.History[0].Percentage != 0 || *v.UseNewOrchestrator.Percentage != 0 {
		t.Errorf("View(1) = %+v, %v; want the newest change only, at 0%%", v, err)
	}
}

func TestParseChangeRejects(t *testing.T) {
	for name, body := range map[string]string{
		"above 100":            `{"use_new_orchestrator": {"percentage": 150}}`,
		"negative":             `{"use_new_orchestrator": {"percentage": -1}}`,
		"not a number":         `{"use_new_orchestrator": {"percentage": "10"}}`,
		"wrong key":            `{"percentage": 10}`,
		"claims auto_rollback": `{"use_new_orchestrator": {"percentage": 0}, "source": "auto_rollback"}`,
		"malformed":            `{"use_new_orchestrator": `,
	} {
		if _, err := ParseChange([]byte(body)); !errors.Is(err, ErrInvalidFlag) {
			t.Errorf("%s: ParseChange = %v; want ErrInvalidFlag", name, err)
		}
	}
}

type brokenStore struct{ MemoryStore }

func (*brokenStore) Set(context.Context, Flag) (Flag, error) { return Flag{}, errors.New("down") }
func (*brokenStore) Get(context.Context) (Flag, error)       { return Flag{}, errors.New("down") }

func TestAdminStoreDown(t *testing.T) {
	dec := NewDecider(Flag{Percentage: 50}, DeciderOptions{})
	a := NewAdmin(AdminOptions{Store: &brokenStore{}, Decider: dec, Log: discard()})
	if _, err := a.Set(t.Context(), Flag{Percentage: 0, Source: SourceAdminAPI}); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("Set with the store down = %v; want ErrStoreUnavailable", err)
	}
	if _, err := a.View(t.Context(), AdminHistory); !errors.Is(err, ErrStoreUnavailable) {
		t.Errorf("View with the store down = %v; want ErrStoreUnavailable", err)
	}
	if got := dec.Flag().Percentage; got != 50 {
		t.Errorf("percentage = %v; want 50 (nothing changed)", got)
	}
}

func TestReportStatus(t *testing.T) {
	store := &MemoryStore{}
	ctx := t.Context()
	for _, p := range []float64{10, 50} {
		if _, err := store.Set(ctx, Flag{Percentage: p, Source: SourceCLI, Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	dec := NewDecider(Flag{}, DeciderOptions{})
	poller := NewPoller(store, dec, time.Second, discard())
	poller.refresh(ctx, false)
	stats := NewStats(StatsOptions{})
	stats.Observe(Outcome{Side: SideNew, Status: 200, Latency: time.Millisecond})
	stats.Observe(Outcome{Side: SideLegacy, Status: 502})
	stats.Observe(Outcome{Side: SideLegacy, Status: 200})
	sh := NewShadow(ShadowOptions{Percentage: 5})
	defer sh.Close()
	st := Report{Decider: dec, Stats: stats, Shadow: sh, Guard: NewGuard(GuardOptions{}), Poller: poller}.Status()
	if st.Percentage != 50 || st.Traffic["new"] != 1 || st.Traffic["legacy"] != 2 || st.Sides["legacy"].ErrorRate != 0.5 {
		t.Errorf("Status = %+v; want 50%%, traffic 1/2, legacy error rate 0.5", st)
	}
	if len(st.History) != 2 || st.History[0].Percentage != 50 || st.Shadow == nil || st.Shadow.Percentage != 5 || st.AutoRollback == nil {
		t.Errorf("Status history %+v, shadow %+v, guard %+v; want two changes newest first and both sections", st.History, st.Shadow, st.AutoRollback)
	}
	b, err := json.Marshal(Report{Decider: dec}.Status())
	if err != nil || !strings.Contains(string(b), `"traffic":{"legacy":0,"new":0}`) || !strings.Contains(string(b), `"history":[]`) {
		t.Errorf("minimal Status JSON = %s, %v; want zero traffic and an empty history", b, err)
	}
}
