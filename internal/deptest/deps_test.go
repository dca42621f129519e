package deptest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cato-gateway/cato/"

type pkg struct {
	ImportPath string
	Imports    []string // direct
	Deps       []string // transitive
}

// load lists every package of the module.
func load(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

func TestImportGraph(t *testing.T) {
	pkgs := load(t)
	cato := func(deps []string) []string {
		var out []string
		for _, d := range deps {
			if rest, ok := strings.CutPrefix(d, module); ok {
				out = append(out, rest)
			}
		}
		return out
	}
	leaves := []string{"internal/llm", "internal/breaker", "internal/backoff", "internal/openai", "internal/vectorindex", "internal/metrics", "internal/window"}
	for _, leaf := range leaves {
		for _, d := range cato(pkgs[leaf].Deps) {
			if d != "internal/llm" && d != "internal/window" {
				t.Errorf("leaf %s imports %s; leaves import nothing of Cato but internal/llm and internal/window", leaf, d)
			}
		}
	}
	domain := []string{"internal/session", "internal/cache", "internal/router", "internal/rollout", "internal/embed", "internal/orchestrator"}
	for _, p := range domain {
		for _, d := range cato(pkgs[p].Deps) {
			if strings.HasPrefix(d, "internal/store") || d == "internal/api" || d == "internal/app" || d == "internal/cli" {
				t.Errorf("%s imports %s; domain packages never reach for a store backend, the HTTP layer or the composition root", p, d)
			}
		}
	}
	for p, info := range pkgs {
		for _, d := range cato(info.Imports) {
			if (d == "internal/app" && p != "internal/cli") || (d == "internal/cli" && p != "cmd/cato") {
				t.Errorf("%s imports %s; only cli imports app, and only cmd/cato imports cli", p, d)
			}
		}
	}
	// Packages whose purpose is testing support may import testing;
	// production code may not.
	testSupport := []string{"internal/testenv", "internal/cache/cachetest", "internal/session/sessiontest", "internal/rollout/rollouttest", "internal/provider/awstest"}
	for p, info := range pkgs {
		if slices.Contains(testSupport, p) {
			continue
		}
		for _, d := range info.Deps {
			if d == "testing" {
				t.Errorf("%s imports testing; keep test code in _test.go files or a test-support package", p)
			}
		}
	}
}
