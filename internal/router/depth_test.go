package router

import (
	"context"
	"log/slog"
	"testing"
)

// TestDepthRoute: with an embedder, short questions that need depth go to
// the complex tier, their factual siblings and plain questions stay on the
// simple one, and NoDepthRoute turns the route off.
func TestDepthRoute(t *testing.T) {
	enc := evalEncoder(t)
	cfg := Config{Simple: "small", Complex: "large"}
	r, err := New(t.Context(), cfg, enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	off := cfg
	off.NoDepthRoute = true
	rOff, err := New(t.Context(), off, enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  string
	}{
		{"Why did the Soviet Union collapse?", "large"},
		{"Is free will an illusion?", "large"},
		{"Design Uber.", "large"},
		{"Refute determinism.", "large"},
		{"When did the Soviet Union collapse?", "small"},
		{"What is utilitarianism?", "small"},
		{"What is the capital of France?", "small"},
		{"hi", "small"},
		{"Does the minimum wage cost jobs?", "large"},
		{"Should billionaires exist?", "large"},
		{"How should I split my savings between a pension and paying off a mortgage?", "large"},
		{"Why do we have leap years?", "small"},
		{"Is 89 a prime number?", "small"},
		{"Can dogs eat chocolate?", "small"},
		// small talk never takes the depth route, however close to an example
		{"Thanks, that makes sense.", "small"},
		{"Okay, great, thank you!", "small"},
	}
	for _, tt := range tests {
		d, _ := r.Decide(t.Context(), Input{Query: tt.query})
		if d.Primary != tt.want {
			t.Errorf("%q → %s (%s); want %s", tt.query, d.Primary, d.Reason, tt.want)
		}
		if d, _ := rOff.Decide(t.Context(), Input{Query: tt.query}); d.Rule == RuleExemplar {
			t.Errorf("%q took the depth route with NoDepthRoute set (%s)", tt.query, d.Reason)
		}
	}
}

// vecEmbedder embeds a text as the vector it is given; unknown texts
// are zero.
type vecEmbedder map[string][]float32

func (e vecEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = []float32{0, 0}
		if v, ok := e[t]; ok {
			out[i] = v
		}
	}
	return out, nil
}

// TestDepthRouteMatch: a query takes the depth route when it clears the
// threshold and is nearer a depth example than every shallow one by
// more than the margin.
func TestDepthRouteMatch(t *testing.T) {
	emb := vecEmbedder{
		"deep":      {1, 0},
		"near deep": {0.8, 0.6},   // 0.80 to deep, 0.60 to shallow
		"between":   {0.75, 0.7},  // 0.73 and 0.68: too close to call
		"far":       {0.5, -0.87}, // 0.50 to deep: under the threshold
		"shallow":   {0, 1},
	}
	r := &Router{emb: emb, log: slog.New(slog.DiscardHandler)}
	d := &depthRoute{threshold: 0.55, margin: 0.06, deep: [][]float32{{1, 0}}, shallow: [][]float32{{0, 1}}}
	for _, tt := range []struct {
		query string
		want  bool
	}{{"deep", true}, {"near deep", true}, {"between", false}, {"far", false}, {"shallow", false}, {"", false}, {"unknown", false}} {
		if _, got := d.match(t.Context(), r, tt.query); got != tt.want {
			t.Errorf("depth route match(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}

func TestAsksForFact(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"When did the Berlin Wall fall?", true},
		{"What year did the Berlin Wall fall?", true},
		{"What's utilitarianism?", true},
		{"Define determinism.", true},
		{"How many moons does Mars have?", true},
		{"Why did the Berlin Wall fall?", false},
		{"What caused the Arab Spring?", false},
		{"How does a bill become law?", false},
		{"Can you define osmosis?", true},
		{"could you tell me when the war ended", false},
		{"What's the best way to scale a team from 10 to 50?", false},
		{"What is the best approach to paying off debt?", false},
		{"What's the capital of Peru?", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := asksForFact(tt.query); got != tt.want {
			t.Errorf("asksForFact(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}

func TestDepthText(t *testing.T) {
	for query, want := range map[string]string{
		"Why did Rome fall?":              "Why did Rome fall?", // nothing to spell out: as typed
		"shud i quit my job":              "should i quit my job",
		"desgin a chat sytem, like slack": "design a chat system like slack",
	} {
		if got := depthText(query); got != want {
			t.Errorf("depthText(%q) = %q; want %q", query, got, want)
		}
	}
}
