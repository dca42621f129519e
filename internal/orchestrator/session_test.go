package orchestrator

import (
	"context"
	"testing"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/router"
	"github.com/cato-gateway/cato/internal/session"
)

// fakeMemory adds what added says to every request.
type fakeMemory struct{ added session.Added }

func (m fakeMemory) Context(_ context.Context, _ session.Key, req *llm.Request) ([]llm.Message, session.Added, error) {
	msgs := req.Messages
	if m.added.Turns > 0 {
		msgs = append([]llm.Message{{Role: llm.RoleUser, Content: "earlier"}, {Role: llm.RoleAssistant, Content: "reply"}}, msgs...)
	}
	return msgs, m.added, nil
}
func (fakeMemory) Record(context.Context, session.Key, session.Exchange) error { return nil }
func (fakeMemory) Session(context.Context, session.Key) (*session.Session, error) {
	return nil, session.ErrNotFound
}
func (fakeMemory) Delete(context.Context, session.Key) error { return nil }

// fakeCache misses every query it may serve and records what it was told.
type fakeCache struct {
	lookups []cache.Query
	puts    int
}

func (c *fakeCache) Lookup(_ context.Context, q cache.Query) (cache.Result, error) {
	c.lookups = append(c.lookups, q)
	if q.SessionMemory || q.Disabled {
		return cache.Result{Outcome: cache.Bypass, Reason: cache.ReasonSessionMemory}, nil
	}
	return cache.Result{Outcome: cache.Miss}, nil
}

func (c *fakeCache) Put(context.Context, cache.Result, cache.Answer) (cache.Entry, error) {
	c.puts++
	return cache.Entry{}, nil
}

func (c *fakeCache) Purge(context.Context, cache.Filter) (int, error) { return 0, nil }

type fixedRouter struct{}

func (fixedRouter) Decide(context.Context, router.Input) (router.Decision, error) {
	return router.Decision{Primary: "m"}, nil
}

type echoCaller struct{}

func (echoCaller) Chat(_ context.Context, chain []string, _ *llm.Request) (provider.Answer, error) {
	return provider.Answer{Model: chain[0], Response: &llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, FinishReason: llm.FinishStop}}, nil
}

func (echoCaller) ChatStream(_ context.Context, chain []string, _ *llm.Request) (provider.StreamAnswer, error) {
	return provider.StreamAnswer{Model: chain[0], Stream: llm.StreamOf(&llm.Response{Message: llm.Message{Role: llm.RoleAssistant, Content: "ok"}, FinishReason: llm.FinishStop})}, nil
}

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
				o := New(Options{Models: []string{"m"}, Caller: echoCaller{}, Router: fixedRouter{}, Cache: c, Sessions: fakeMemory{tt.added}})
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
				if c.puts != tt.wantPuts {
					t.Errorf("puts = %d; want %d", c.puts, tt.wantPuts)
				}
			})
		}
	}
}
