package router

import (
	"os"
	"strings"
	"testing"
)

// evalRouting is the routing configuration testdata/labelled.jsonl is
// labelled for: the default tiers, plus one domain rule to the self-hosted
// model, one to the complex tier, and one tenant rule.
func evalRouting() Config {
	return Config{
		Simple:              "bedrock_haiku",
		Complex:             "bedrock_sonnet",
		HiddenStates:        "shadow_self",
		ComplexityThreshold: 0.5,
		Domains:             map[string]string{"internal": "shadow_self", "medical": "bedrock_sonnet"},
		Tenants:             map[string]string{"research-lab": "bedrock_sonnet"},
		Fallbacks:           map[string][]string{"bedrock_sonnet": {"bedrock_haiku"}, "shadow_self": {"bedrock_sonnet", "bedrock_haiku"}},
	}
}

func loadLabelled(t testing.TB) []Case {
	t.Helper()
	f, err := os.Open("testdata/labelled.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := LoadCases(f)
	if err != nil {
		t.Fatalf("LoadCases(testdata/labelled.jsonl) = %v", err)
	}
	return cases
}

// TestEvaluate reports the router's accuracy on the labelled set; run it
// with -v to see the confusion matrix and the misses.
func TestEvaluate(t *testing.T) {
	cases := loadLabelled(t)
	if len(cases) < 300 {
		t.Fatalf("labelled set has %d cases; want at least 300", len(cases))
	}
	r, err := New(t.Context(), evalRouting(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(t.Context(), r, cases)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if rep.Accuracy < 0.90 {
		t.Errorf("accuracy = %.3f; want at least 0.90", rep.Accuracy)
	}
}

func TestLabelledSetIsVaried(t *testing.T) {
	seen := map[string]bool{}
	cats := map[string]int{}
	for _, c := range loadLabelled(t) {
		key := c.Query + "|" + c.Domain + "|" + c.Tenant + "|" + boolStr(c.HiddenStates) + "|" + string(rune('0'+min(c.History, 9)))
		if seen[key] {
			t.Errorf("duplicate case %q", c.Query)
		}
		seen[key] = true
		cats[c.Category]++
	}
	for _, want := range []string{"factual", "greeting", "code", "math", "comparison", "design", "reasoning", "domain", "tenant", "hidden_states", "edge", "conversation", "multi_part"} {
		if cats[want] == 0 {
			t.Errorf("category %q has no cases", want)
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "t"
	}
	return "f"
}

func TestReportString(t *testing.T) {
	rep := Report{
		Total: 3, Correct: 2, Accuracy: 2.0 / 3, Labels: []string{"a", "b"},
		Confusion:  map[string]map[string]int{"a": {"a": 2}, "b": {"a": 1}},
		ByCategory: map[string][2]int{"x": {2, 3}},
		Misses:     []Miss{{Case: Case{Query: "q", Want: "b", Category: "x"}, Got: Decision{Primary: "a", Complexity: 0.1, Reason: "why"}}},
	}
	got := rep.String()
	for _, want := range []string{"accuracy: 2/3 = 66.7%", "want \\ got", "x  2/3", `- [x] "q": want b, got a (0.10, why)`} {
		if !strings.Contains(got, want) {
			t.Errorf("Report.String() lacks %q:\n%s", want, got)
		}
	}
}

// TestEvaluateHeldOut reports accuracy on queries written after the rules
// were frozen, a fairer estimate than the set the rules were developed on.
func TestEvaluateHeldOut(t *testing.T) {
	f, err := os.Open("testdata/heldout.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cases, err := LoadCases(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(t.Context(), evalRouting(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(t.Context(), r, cases)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + rep.String())
	if rep.Accuracy < 0.80 {
		t.Errorf("held-out accuracy = %.3f; want at least 0.80", rep.Accuracy)
	}
}
