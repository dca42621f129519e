package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/testenv"
	"github.com/google/go-cmp/cmp"
)

// compatClients are the client runs of the compatibility suite: a script
// of scripts/compat and its environment.
var compatClients = []struct {
	name, script string
	env          []string
}{
	{"openai6", "openai.mjs", []string{"CATO_COMPAT_OPENAI=openai6"}},
	{"openai7", "openai.mjs", []string{"CATO_COMPAT_OPENAI=openai7"}},
	{"langchain", "langchain.mjs", nil},
	{"aisdk", "aisdk.mjs", nil},
}

// compatScriptTimeout bounds one run of one client script (a dozen
// scenarios, each bounded at 20 s by the script itself).
const compatScriptTimeout = 2 * time.Minute

func compatConfig(upstream string) string {
	return fmt.Sprintf(`
listen: 127.0.0.1:0
models:
  gpt-compat: {provider: openai, base_url: %q, model_id: gpt-compat}
routing:
  simple: gpt-compat
  complex: gpt-compat
retries: {max_attempts: 2, base: 1ms, max: 5ms}
`, upstream+"/v1")
}

// TestCompatClients runs the OpenAI clients people use (the official
// openai SDK 6 and 7, LangChain JS and the AI SDK, over chat completions
// and the Responses API) against a deterministic OpenAI twice, once
// directly and once through Cato, and compares what each client saw in
// each scenario: text, tool calls, structured objects, token limits (the
// fake refuses max_tokens, as OpenAI's reasoning models do), usage, finish
// reasons and errors. Cato may add to an answer (its cato object and
// headers), which the scripts do not look at; everything they look at
// must be the same.
func TestCompatClients(t *testing.T) {
	dir, node := testenv.NodeCompat(t)
	work := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	scripts, err := filepath.Glob(filepath.Join("..", "..", "scripts", "compat", "*"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts in scripts/compat: %v", err)
	}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, filepath.Base(s)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	up := httptest.NewServer(fakeOpenAI{})
	defer up.Close()

	for _, c := range compatClients {
		t.Run(c.name, func(t *testing.T) {
			direct := runCompatScript(t, node, work, c.script, up.URL+"/v1", c.env)
			// A fresh Cato for each client, so that one client's errors
			// (429s, a breaker) cannot change what the next one sees.
			cato := gateway(t, compatConfig(up.URL))
			via := runCompatScript(t, node, work, c.script, cato+"/v1", c.env)
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range direct {
					if !yield(k) {
						return
					}
				}
			})
			if len(names) == 0 {
				t.Fatal("the script ran no scenario")
			}
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					d, v := direct[name], via[name]
					if isError(d) != strings.Contains(name, "error") {
						t.Fatalf("directly against the upstream: %s; the scenario or the fake is broken", d)
					}
					if diff := cmp.Diff(jsonValue(t, d), jsonValue(t, v)); diff != "" {
						t.Errorf("what the client saw differs (-directly +through Cato):\n%s", diff)
					}
				})
			}
		})
	}
}

// runCompatScript runs one client script against baseURL and returns each
// scenario's outcome.
func runCompatScript(t *testing.T, node, dir, script, baseURL string, env []string) map[string]json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), compatScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"CATO_COMPAT_BASE_URL=" + baseURL}, env...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s against %s: %v\n%s", script, baseURL, err, stderr.Bytes())
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node %s printed %q: %v\n%s", script, stdout.Bytes(), err, stderr.Bytes())
	}
	return out
}

func isError(raw json.RawMessage) bool {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	return json.Unmarshal(raw, &v) == nil && len(v.Error) > 0
}

func jsonValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("outcome %s: %v", raw, err)
	}
	return v
}
