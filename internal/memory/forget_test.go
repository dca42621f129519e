package memory

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestForgetPlan(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	src := func(id, session string, min int) Source {
		return Source{Interaction: id, SessionID: session, At: t0.Add(time.Duration(min) * time.Minute)}
	}
	k := Key{Tenant: "t", User: "u"}
	tests := []struct {
		name       string
		facts      []Fact
		wantPut    []Fact
		wantDelete []string
	}{
		{"the superseder goes: the old fact is current again",
			[]Fact{
				{ID: "paris", Sources: []Source{src("i1", "keep", 1)}, SupersededBy: "berlin", SupersededAt: t0},
				{ID: "berlin", Sources: []Source{src("i2", "drop", 2)}},
			},
			[]Fact{{ID: "paris", Sources: []Source{src("i1", "keep", 1)}}}, []string{"berlin"}},
		{"the superseder was superseded: its own superseder takes over",
			[]Fact{
				{ID: "paris", Sources: []Source{src("i1", "keep", 1)}, SupersededBy: "berlin", SupersededAt: t0},
				{ID: "berlin", Sources: []Source{src("i2", "drop", 2)}, SupersededBy: "rome", SupersededAt: t0},
				{ID: "rome", Sources: []Source{src("i3", "keep", 3)}},
			},
			[]Fact{{ID: "paris", Sources: []Source{src("i1", "keep", 1)}, SupersededBy: "rome", SupersededAt: t0}}, []string{"berlin"}},
		{"a fact also stated elsewhere loses the session's sources",
			[]Fact{{ID: "oslo", Sources: []Source{src("i1", "drop", 1), src("i2", "keep", 2), src("i3", "drop", 3)}, StatedAt: t0.Add(3 * time.Minute)}},
			[]Fact{{ID: "oslo", Sources: []Source{src("i2", "keep", 2)}, StatedAt: t0.Add(2 * time.Minute)}}, nil},
		{"nothing of the session", []Fact{{ID: "a", Sources: []Source{src("i1", "keep", 1)}}}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := forgetPlan(State{Version: 7, Facts: tt.facts}, k, "drop", []string{"e1"})
			if ch.Version != 7 || ch.Key != k || !cmp.Equal(ch.DeleteEpisodes, []string{"e1"}) {
				t.Errorf("change = %+v", ch)
			}
			if diff := cmp.Diff(tt.wantPut, ch.Put); diff != "" {
				t.Errorf("put (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDelete, ch.Delete); diff != "" {
				t.Errorf("delete (-want +got):\n%s", diff)
			}
		})
	}
}
