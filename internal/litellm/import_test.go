package litellm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden imports each testdata/CASE/litellm.yaml (with the Options of
// CASE/options.json, if any) and compares the Cato configuration and both
// reports with the golden files beside it. Every produced configuration
// must pass Cato's own validation, and no secret written in the input may
// appear in any output.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/litellm.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Source: "litellm.yaml"}
			if b, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				if err := json.Unmarshal(b, &opts); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Import(text, opts)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if _, err := config.Parse(res.Config); err != nil {
				t.Errorf("the imported config does not pass config.Parse:\n%v\n%s", err, res.Config)
			}
			var txt, js bytes.Buffer
			if err := res.Report.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			if err := res.Report.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			for _, s := range literalSecrets(t, text) {
				for name, out := range map[string][]byte{"config": res.Config, "text report": txt.Bytes(), "json report": js.Bytes()} {
					if bytes.Contains(out, []byte(s)) {
						t.Errorf("the %s holds the secret %q written in the input", name, s)
					}
				}
			}
			golden(t, filepath.Join(dir, "cato.yaml"), res.Config)
			golden(t, filepath.Join(dir, "report.txt"), txt.Bytes())
			golden(t, filepath.Join(dir, "report.json"), js.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// literalSecrets returns the values written in text under keys that hold
// secrets, and the passwords of URLs, except os.environ/ references.
func literalSecrets(t *testing.T, text []byte) []string {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	secretKey := map[string]bool{"api_key": true, "master_key": true, "password": true, "redis_password": true,
		"aws_access_key_id": true, "aws_secret_access_key": true, "aws_session_token": true}
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e)
			}
		case []any:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			if strings.HasPrefix(x, envPrefix) {
				return
			}
			if secretKey[key] || strings.HasPrefix(key, "LANGFUSE") {
				out = append(out, x)
			}
			if i := strings.Index(x, "://"); i > 0 {
				if at := strings.LastIndex(x, "@"); at > i {
					if _, pass, ok := strings.Cut(x[i+3:at], ":"); ok && pass != "" {
						out = append(out, pass)
					}
				}
			}
		}
	}
	walk("", doc)
	return out
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		opts Options
		want string
	}{
		{"not yaml", "model_list: [", Options{}, "not a YAML mapping"},
		{"a list", "- a\n- b\n", Options{}, "not a YAML mapping"},
		{"empty", "", Options{}, "empty"},
		{"model_list not a list", "model_list: 3\n", Options{}, "model_list is a value"},
		{"router_settings not a section", "model_list: []\nrouter_settings: [1]\n", Options{}, "router_settings is a list"},
		{"no model maps", "model_list:\n  - model_name: a\n    litellm_params: {model: azure/x}\n", Options{}, ErrNoModels.Error()},
		{"bad legacy url", "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n", Options{LegacyURL: "litellm:4000"}, "legacy URL"},
		{"legacy url with credentials", "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x}\n", Options{LegacyURL: "http://u:p@litellm:4000"}, "without credentials"},
		{"bad percentage", "model_list: []\n", Options{Percentage: 101}, "percentage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import([]byte(tt.text), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Import() error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestBudgetRaised checks that LiteLLM's long timeouts, which would leave
// a fallback no attempt within Cato's request budget, raise the budget
// rather than produce a configuration Cato refuses.
func TestBudgetRaised(t *testing.T) {
	text := `
model_list:
  - model_name: a
    litellm_params: {model: openai/a, timeout: 300}
  - model_name: b
    litellm_params: {model: openai/b}
router_settings:
  num_retries: 2
  timeout: 100
  fallbacks: [{a: [b]}]
`
	res, err := Import([]byte(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(res.Config)
	if err != nil {
		t.Fatalf("config.Parse: %v\n%s", err, res.Config)
	}
	// 3 attempts × 300s + 2 × 2s between them + one attempt of b (100s).
	if got, want := cfg.Retries.Budget.String(), "16m44s"; got != want {
		t.Errorf("retries.budget = %s; want %s", got, want)
	}
	if res.Report.Count(Approximated) == 0 {
		t.Error("the report does not say the budget was raised")
	}
}
