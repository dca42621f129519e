package testenv

import "testing"

func TestRequired(t *testing.T) {
	tests := []struct {
		ci, require string
		want        bool
	}{
		{"", "", false},
		{"true", "", true},
		{"", "1", true},
		{"0", "false", false},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		t.Setenv("CATO_REQUIRE_SERVERS", tt.require)
		if got := Required(); got != tt.want {
			t.Errorf("Required() with CI=%q CATO_REQUIRE_SERVERS=%q = %v; want %v", tt.ci, tt.require, got, tt.want)
		}
	}
}

// fakeTB records how a lookup ended.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()           {}
func (f *fakeTB) Skip(args ...any)  { f.skipped = true }
func (f *fakeTB) Fatal(args ...any) { f.failed = true }

func TestLookup(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("CATO_REQUIRE_SERVERS", "")
	t.Setenv(RedisEnv, "")
	var f fakeTB
	RedisURL(&f)
	if !f.skipped || f.failed {
		t.Errorf("unset locally: skipped=%v failed=%v; want a skip", f.skipped, f.failed)
	}
	t.Setenv("CATO_REQUIRE_SERVERS", "1")
	f = fakeTB{}
	RedisURL(&f)
	if !f.failed {
		t.Errorf("unset with CATO_REQUIRE_SERVERS: want a failure")
	}
	t.Setenv(RedisEnv, "redis://127.0.0.1:1/0")
	f = fakeTB{}
	if got := RedisURL(&f); got != "redis://127.0.0.1:1/0" || f.failed || f.skipped {
		t.Errorf("RedisURL = %q (skipped=%v failed=%v)", got, f.skipped, f.failed)
	}
}
