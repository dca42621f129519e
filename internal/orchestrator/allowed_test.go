package orchestrator

import (
	"errors"
	"slices"
	"testing"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/llm"
)

// TestModelsOfTheKey: a key's model list refuses named models outside it
// and keeps the router's chain (m, then m2) to it; a cached answer of
// another model is not served.
func TestModelsOfTheKey(t *testing.T) {
	tests := []struct {
		name    string
		model   string
		models  []string
		hit     string // the model of a cached answer; empty: none
		answer  string // the model that answers; empty: refused
		chain   []string
		outcome string
	}{
		{"no list", Auto, nil, "", "m", []string{"m", "m2"}, "miss"},
		{"auto within the list", Auto, []string{"m", "m2"}, "", "m", []string{"m", "m2"}, "miss"},
		{"auto, primary not allowed", Auto, []string{"m2"}, "", "m2", []string{"m2"}, "miss"},
		{"auto, nothing allowed", Auto, []string{"other"}, "", "", nil, ""},
		{"named allowed", "m2", []string{"m2"}, "", "m2", []string{"m2"}, "miss"},
		{"named not allowed", "m", []string{"m2"}, "", "", nil, ""},
		{"cached answer of an allowed model", Auto, []string{"m2"}, "m2", "m2", nil, "hit"},
		{"cached answer of another model", Auto, []string{"m2"}, "m", "m2", []string{"m2"}, "bypass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeCache{}
			if tt.hit != "" {
				fc.hit = &cache.Entry{ID: "e", Model: tt.hit, Answer: "cached"}
			}
			caller := &fakeCaller{}
			o := New(Options{Models: []string{"m", "m2"}, Caller: caller, Router: fixedRouter{}, Cache: fc})
			q := &Query{Tenant: "t", Models: tt.models, Request: &llm.Request{Model: tt.model, Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}}
			ans, err := o.Answer(t.Context(), q)
			if tt.answer == "" {
				if !errors.Is(err, ErrModelNotAllowed) {
					t.Fatalf("Answer = %v; want ErrModelNotAllowed", err)
				}
				if len(caller.reqs) != 0 {
					t.Errorf("a refused request called a model")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ans.Model != tt.answer || ans.CacheOutcome != tt.outcome {
				t.Errorf("answered by %s (cache %s); want %s (%s)", ans.Model, ans.CacheOutcome, tt.answer, tt.outcome)
			}
			if got := chainOf(ans.Routing); tt.chain != nil && !slices.Equal(got, tt.chain) {
				t.Errorf("chain %v; want %v", got, tt.chain)
			}
		})
	}
}
