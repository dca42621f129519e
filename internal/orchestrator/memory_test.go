package orchestrator

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/memory"
)

// fakeLongTerm recalls note (err: fails) for tenants not in off, and keeps
// what it is told to record.
type fakeLongTerm struct {
	note    string
	err     error
	off     map[string]bool
	recalls []memory.Key
	records []memory.Interaction
}

func (m *fakeLongTerm) On(tenant string) bool { return !m.off[tenant] }

func (m *fakeLongTerm) Recall(_ context.Context, k memory.Key, _, _ string) (memory.Recalled, error) {
	m.recalls = append(m.recalls, k)
	return memory.Recalled{Text: m.note}, m.err
}

func (m *fakeLongTerm) Record(in memory.Interaction) { m.records = append(m.records, in) }

func TestLongTermMemory(t *testing.T) {
	off := false
	sys := llm.Message{Role: llm.RoleSystem, Content: "Be brief."}
	q := func(mod func(*Query)) *Query {
		qq := &Query{Tenant: "acme", User: "u-1", SessionID: "s-1", Domain: "ai", Request: &llm.Request{Model: Auto,
			Messages: []llm.Message{sys, {Role: llm.RoleUser, Content: "What is my name?"}}}}
		if mod != nil {
			mod(qq)
		}
		return qq
	}
	tests := []struct {
		name       string
		mem        *fakeLongTerm
		hit        bool
		q          *Query
		wantPrompt []llm.Message // nil: as sent
		wantCache  string
		wantSource string // "": nothing recorded
		wantDeg    []string
	}{
		{"recalled after the system prompt", &fakeLongTerm{note: "The user's name is Alice."}, false, q(nil),
			[]llm.Message{sys, {Role: llm.RoleSystem, Content: "The user's name is Alice."}, {Role: llm.RoleUser, Content: "What is my name?"}},
			"bypass", "chat", nil},
		{"nothing relevant: the cache serves", &fakeLongTerm{}, true, q(nil), nil, "hit", "cache", nil},
		{"store down: degraded, still recorded", &fakeLongTerm{err: errors.New("down")}, false, q(nil), nil, "miss", "chat", []string{"memory_store"}},
		{"no user: neither", &fakeLongTerm{note: "x"}, false, q(func(q *Query) { q.User = "" }), nil, "miss", "", nil},
		{"memory off in the request", &fakeLongTerm{note: "x"}, false, q(func(q *Query) { q.Memory = &off }), nil, "miss", "", nil},
		{"memory off for the tenant", &fakeLongTerm{note: "x", off: map[string]bool{"acme": true}}, false, q(nil), nil, "miss", "", nil},
		{"shadow: neither", &fakeLongTerm{note: "x"}, false, q(func(q *Query) { q.Shadow = true }), nil, "bypass", "", nil},
		{"hidden states: recorded, nothing recalled", &fakeLongTerm{note: "x"}, false, q(func(q *Query) { q.Request.HiddenStates = true }), nil, "bypass", "chat", nil},
	}
	for _, stream := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if stream {
				name += " (stream)"
			}
			t.Run(name, func(t *testing.T) {
				mem := *tt.mem
				fc := &fakeCache{}
				if tt.hit {
					fc.hit = &cache.Entry{ID: "e", Answer: "cached", Model: "m"}
				}
				caller := &fakeCaller{}
				o := New(Options{Models: []string{"m", "m2"}, Caller: caller, Router: fixedRouter{}, Cache: fc, Memory: &mem})
				qq := *tt.q
				req := *qq.Request
				req.Messages = append([]llm.Message(nil), req.Messages...)
				qq.Request = &req
				out, err := ask(o, &qq, stream)
				if err != nil {
					t.Fatal(err)
				}
				if out.CacheOutcome != tt.wantCache {
					t.Errorf("cache outcome = %s; want %s", out.CacheOutcome, tt.wantCache)
				}
				if diff := cmp.Diff(tt.wantDeg, out.Degraded); diff != "" {
					t.Errorf("degraded (-want +got):\n%s", diff)
				}
				if len(caller.reqs) == 1 {
					want := tt.wantPrompt
					if want == nil {
						want = qq.Request.Messages
					}
					if diff := cmp.Diff(want, caller.reqs[0].Messages); diff != "" {
						t.Errorf("prompt (-want +got):\n%s", diff)
					}
				}
				if tt.wantSource == "" {
					if len(mem.records) != 0 {
						t.Errorf("recorded %+v; want nothing", mem.records)
					}
					return
				}
				if len(mem.records) != 1 {
					t.Fatalf("recorded %d interactions; want 1", len(mem.records))
				}
				r := mem.records[0]
				want := memory.Interaction{Tenant: "acme", User: "u-1", SessionID: "s-1", Domain: "ai", Query: "What is my name?", Response: out.Text, Model: out.Model, Source: tt.wantSource}
				if diff := cmp.Diff(want, r); diff != "" {
					t.Errorf("recorded (-want +got):\n%s", diff)
				}
			})
		}
	}
}
