package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Variables set by scripts/testenv.sh for browser tests.
const (
	// ChromiumEnv names the Chromium binary (Debian's chromium).
	ChromiumEnv = "CATO_TEST_CHROMIUM"
	// ArtifactsEnv names a directory where tests keep what a person may
	// want to look at afterwards (screenshots).
	ArtifactsEnv = "CATO_TEST_ARTIFACTS"
)

// Chromium returns the path of the Chromium binary: the one
// CATO_TEST_CHROMIUM names, else chromium on PATH. It skips, or fails in
// CI, when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, ChromiumEnv+" names a missing file: "+err.Error())
		}
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		missing(t, "chromium is not installed (scripts/testenv.sh installs it)")
	}
	return p
}

// Artifacts returns the directory where t keeps its artefacts: the one
// CATO_TEST_ARTIFACTS names (created when missing), else a temporary
// directory removed when t ends.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(ArtifactsEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%s: %v", ArtifactsEnv, err)
	}
	return dir
}
