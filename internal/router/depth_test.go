package router

import "testing"

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
		{"", false},
	}
	for _, tt := range tests {
		if got := asksForFact(tt.query); got != tt.want {
			t.Errorf("asksForFact(%q) = %v; want %v", tt.query, got, tt.want)
		}
	}
}
