// Package evalset holds what the evaluation sets of the cache and the
// router share: a held-out set is frozen by the SHA-256 of its file, so
// that nobody tunes on it unnoticed.
package evalset

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
)

// Frozen fails t unless the file at path has the SHA-256 want (in hex).
func Frozen(t testing.TB, path, want string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != want {
		t.Errorf("%s has SHA-256 %x; want %s: the held-out set is frozen (see testdata/README.md)", path, sum, want)
	}
}
