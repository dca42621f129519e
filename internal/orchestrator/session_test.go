package orchestrator

import (
	"context"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/session"
)

// TestSessionContextBypassesCache: an answer that was given the session's
// context is neither served from nor stored in the semantic cache.
func TestSessionContextBypassesCache(t *testing.T) {
	tests := []struct {
		name     string
		added    session.Added
		session  string
		wantUsed bool
		wantPuts int
	}{
		{"no session", session.Added{}, "", false, 1},
		{"empty session", session.Added{}, "s-1", false, 1},
		{"turns added", session.Added{Turns: 2}, "s-1", true, 0},
		{"summary added", session.Added{Summary: true}, "s-1", true, 0},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				c := &fakeCache{}
				o := New(Options{Models: []string{"m"}, Caller: &fakeCaller{}, Router: fixedRouter{}, Cache: c, Sessions: &fakeMemory{added: tt.added}})
				q := &Query{Tenant: "t", SessionID: tt.session, Request: &llm.Request{Model: Auto, Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is Python?"}}}}
				if stream {
					sa, err := o.Stream(context.Background(), q)
					if err != nil {
						t.Fatal(err)
					}
					for {
						if _, err := sa.Next(); err != nil {
							break
						}
					}
					sa.Close()
				} else if _, err := o.Answer(context.Background(), q); err != nil {
					t.Fatal(err)
				}
				if len(c.lookups) != 1 {
					t.Fatalf("lookups = %d; want 1", len(c.lookups))
				}
				if got := c.lookups[0].SessionMemory; got != tt.wantUsed {
					t.Errorf("Lookup got SessionMemory = %v; want %v", got, tt.wantUsed)
				}
				if len(c.puts) != tt.wantPuts {
					t.Errorf("puts = %d; want %d", len(c.puts), tt.wantPuts)
				}
			})
		}
	}
}
