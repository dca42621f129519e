package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDefault(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Store != "embedded://.cato" {
		t.Errorf("listen, store = %q, %q; want the loopback embedded default", c.Listen, c.Store)
	}
	for _, m := range []string{"bedrock_haiku", "bedrock_sonnet", "shadow_self"} {
		if c.Models[m].Provider != ProviderSimulated {
			t.Errorf("models.%s.provider = %q; want simulated", m, c.Models[m].Provider)
		}
	}
	if c.Breakers["default"].Failures != 5 || c.Breakers["default"].Cooldown != 30*time.Second {
		t.Errorf("breakers.default = %+v; want 5 failures, 30s cooldown", c.Breakers["default"])
	}
	if *c.Rollout.Percentage != 100 {
		t.Errorf("rollout.percentage = %d; want 100", *c.Rollout.Percentage)
	}
}

func TestLoadFileAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cato.yaml")
	yaml := `
listen: 127.0.0.1:9999
models:
  bedrock_haiku: {provider: bedrock, model_id: anthropic.claude-3-5-haiku-20241022-v1:0}
  bedrock_sonnet: {provider: simulated}
  shadow_self: {provider: simulated}
  legacy: {provider: openai, base_url: "http://litellm:4000/v1"}
breakers:
  bedrock_sonnet: {failures: 3}
rollout: {percentage: 10, legacy: legacy}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"CATO_ROLLOUT__PERCENTAGE=50",
		"CATO_MODELS__BEDROCK_HAIKU__ENDPOINT=http://127.0.0.1:9000",
		"CATO_ADMIN_KEY=secret", // not a config key: left alone
		"CATO_URL=http://x",     // likewise
		"HOME=/root",
	}
	c, err := Load(path, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if *c.Rollout.Percentage != 50 {
		t.Errorf("rollout.percentage = %d; want the environment's 50", *c.Rollout.Percentage)
	}
	h := c.Models["bedrock_haiku"]
	if h.Endpoint != "http://127.0.0.1:9000" || h.API != "converse" {
		t.Errorf("bedrock_haiku = %+v; want the env endpoint and the converse default", h)
	}
	if h.Price.InputPerMTok != 0.80 {
		t.Errorf("bedrock_haiku price = %+v; want the built-in Claude 3.5 Haiku price", h.Price)
	}
	if got := c.Breakers["bedrock_sonnet"]; got.Failures != 3 || got.Cooldown != 30*time.Second {
		t.Errorf("breakers.bedrock_sonnet = %+v; want failures 3 with the default cooldown", got)
	}
	if c.Models["legacy"].ModelID != "legacy" {
		t.Errorf("legacy model_id = %q; want it to default to the key", c.Models["legacy"].ModelID)
	}
}

func TestLoadRefusesWrongKeysAndValues(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "listne: x\n", nil, []string{"line 1", "listne is not a known key"}},
		{"unknown nested key", "models:\n  a: {provider: simulated, endpont: x}\n", nil, []string{"line 2", "endpont"}},
		{"bad duration", "upstream: {timeout: soon}\n", nil, []string{"soon", "time.Duration"}},
		{"bad provider", "models: {a: {provider: azure}}\nrouting: {simple: a, complex: a, hidden_states: a}\nsession: {summary_model: a}\nmemory: {extract_model: a}\n", nil, []string{"models.a.provider", "bedrock, sagemaker, openai"}},
		{"routing to a missing model", "models: {a: {provider: simulated}}\n", nil, []string{"routing.simple", `"bedrock_haiku" is not configured`}},
		{"percentage out of range", "", []string{"CATO_ROLLOUT__PERCENTAGE=150"}, []string{"rollout.percentage", "150"}},
		{"rollout override to no side", "", []string{"CATO_ROLLOUT__OVERRIDES={team-a: both}"}, []string{"rollout.overrides.team-a", `"both" is not new or legacy`}},
		{"bad store", "", []string{"CATO_STORE=mysql://x"}, []string{"store", "embedded://, redis://"}},
		{"env into a value", "", []string{"CATO_LISTEN__X=1"}, []string{"CATO_LISTEN__X", "holds a value"}},
		{"openai without base_url", "models: {bedrock_haiku: {provider: openai}, bedrock_sonnet: {provider: simulated}, shadow_self: {provider: simulated}}\n", nil, []string{"models.bedrock_haiku.base_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = filepath.Join(t.TempDir(), "cato.yaml")
				if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(path, tt.env)
			if err == nil {
				t.Fatal("Load succeeded; want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func FuzzValidateStoreURL(f *testing.F) {
	for _, s := range []string{"embedded://.cato", "embedded:///var/lib/cato", "redis://127.0.0.1:6379/0", "postgres://u:p@h/db?sslmode=disable", "embedded://", "::", "redis://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateStoreURL(s)
		if err == nil && !strings.Contains(s, "://") {
			t.Fatalf("accepted %q without a scheme", s)
		}
	})
}
