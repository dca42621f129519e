package cache

import (
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/evalset"
)

// The second held-out pair set; testdata/README.md says how it was
// written. It is blind: written before the cache's gate was tuned again,
// without reading the gate or the earlier pair sets.
const (
	heldout2PairsFile = "testdata/pairs_heldout2.jsonl"
	// heldout2PairsSHA256 freezes the second held-out set: it is never
	// tuned on, and TestHeldOut2Frozen fails if the file changes.
	heldout2PairsSHA256 = "6569d0243bdc0a4251616cf3cd5f43696264a4f133d8d5fa2cde36ca34162a76"
)

// TestHeldOut2Frozen checks the second held-out set against its checksum,
// that every line is a pair of a known kind whose label matches the kind,
// and that no pair repeats a pair of the dev set or of the first held-out
// set, in either order. It does not run the cache on the pairs.
func TestHeldOut2Frozen(t *testing.T) {
	evalset.Frozen(t, heldout2PairsFile, heldout2PairsSHA256)
	// loadPairs fails on a line that does not parse, an unknown kind, a
	// label that does not match its kind or an empty question.
	pairs := loadPairs(t, heldout2PairsFile)
	seen := map[string]string{}
	for _, file := range []string{devPairsFile, heldoutPairsFile} {
		for _, p := range loadPairs(t, file) {
			seen[strings.ToLower(p.A+"\n"+p.B)] = file
			seen[strings.ToLower(p.B+"\n"+p.A)] = file
		}
	}
	own := map[string]bool{}
	for _, p := range pairs {
		key := strings.ToLower(p.A + "\n" + p.B)
		if f, dup := seen[key]; dup {
			t.Errorf("%q / %q is also in %s", p.A, p.B, f)
		}
		if own[key] || own[strings.ToLower(p.B+"\n"+p.A)] {
			t.Errorf("%q / %q is in %s twice", p.A, p.B, heldout2PairsFile)
		}
		if strings.EqualFold(p.A, p.B) {
			t.Errorf("%q / %q: the two questions are the same", p.A, p.B)
		}
		own[key] = true
	}
	checkBalance(t, pairs, 420, 15)
}
