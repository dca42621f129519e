package evalset

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true }

func TestFrozen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "set.jsonl")
	if err := os.WriteFile(path, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, sha string
		fails           bool
	}{
		{"matching", path, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", false},
		{"changed", path, "0000000000000000000000000000000000000000000000000000000000000000", true},
		{"missing", path + ".gone", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			Frozen(r, tc.path, tc.sha)
			if r.failed != tc.fails {
				t.Errorf("Frozen failed = %v; want %v", r.failed, tc.fails)
			}
		})
	}
}
