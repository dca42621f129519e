package router

import (
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/evalset"
)

// The second held-out set; testdata/README.md says how it was written. It
// is blind: written by the labelling guide before the router was tuned
// again, without reading the router or the earlier sets.
const (
	heldout2File = "testdata/heldout2.jsonl"
	// heldout2SHA256 freezes the second held-out set: it is never tuned on,
	// and TestHeldOut2Frozen fails if the file changes.
	heldout2SHA256 = "44a35385580332ea46b074fc24c96c5a7fa22d387a0e81940a2bcaa24b445fd6"
)

// TestHeldOut2Frozen checks the second held-out set against its checksum,
// that every case parses and wants a model of the evaluation routing, and
// that no query repeats one of the dev set or the first held-out set. It
// does not run the router on the cases.
func TestHeldOut2Frozen(t *testing.T) {
	evalset.Frozen(t, heldout2File, heldout2SHA256)
	cfg := evalRouting()
	models := map[string]bool{cfg.Simple: true, cfg.Complex: true, cfg.HiddenStates: true}
	seen := map[string]string{}
	for _, file := range []string{devFile, heldoutFile} {
		for _, c := range loadCases(t, file) {
			seen[strings.ToLower(strings.TrimSpace(c.Query))] = file
		}
	}
	cases := loadCases(t, heldout2File)
	if len(cases) < 160 {
		t.Errorf("%s has %d cases; want at least 160", heldout2File, len(cases))
	}
	own := map[string]bool{}
	cats := map[string]int{}
	for _, c := range cases {
		if strings.TrimSpace(c.Query) == "" || c.Category == "" {
			t.Errorf("case %q: want a query and a category", c.Query)
		}
		if !models[c.Want] {
			t.Errorf("case %q wants %q; want one of the configured models", c.Query, c.Want)
		}
		q := strings.ToLower(strings.TrimSpace(c.Query))
		if f, dup := seen[q]; dup {
			t.Errorf("query %q is also in %s", c.Query, f)
		}
		if own[caseKey(c)] {
			t.Errorf("case %q is in %s twice", c.Query, heldout2File)
		}
		own[caseKey(c)] = true
		cats[c.Category]++
	}
	for _, want := range []string{"short_depth", "short_simple", "typo", "code", "simple_code", "math", "simple_math", "domain", "tenant", "hidden_states", "conversation"} {
		if cats[want] == 0 {
			t.Errorf("category %q has no cases", want)
		}
	}
}
