package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
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
	raw, err := os.ReadFile(heldout2PairsFile)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != heldout2PairsSHA256 {
		t.Errorf("%s has SHA-256 %x; want %s: the held-out set is frozen (see testdata/README.md)", heldout2PairsFile, sum, heldout2PairsSHA256)
	}
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
	hits := 0
	kinds := map[string]int{}
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
		if p.Hit {
			hits++
		}
		kinds[p.Kind]++
	}
	if len(pairs) < 420 || hits*100 < len(pairs)*45 || hits*100 > len(pairs)*55 {
		t.Errorf("%d pairs, %d should hit; want at least 420, 45–55%% of them hits", len(pairs), hits)
	}
	for k := range pairKinds {
		if kinds[k] < 15 {
			t.Errorf("kind %s has %d pairs; want at least 15", k, kinds[k])
		}
	}
}
