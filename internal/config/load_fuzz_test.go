package config

import (
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzLoad checks the configuration loader on any file and any CATO_*
// environment override: it refuses or loads without panicking; what it
// loads is valid, and written back as YAML it parses to the same
// configuration (the second writing is the first byte for byte).
func FuzzLoad(f *testing.F) {
	seeds := [][3]string{
		{"listen: 127.0.0.1:9000\n", "CATO_ROLLOUT__PERCENTAGE", "10"},
		{"models:\n  a: {provider: simulated}\n  b: {provider: simulated}\nrouting: {simple: a, complex: b}\n", "CATO_MODELS__A__TIMEOUT", "5s"},
		{"models:\n  a: {provider: openai, base_url: http://127.0.0.1:1/v1, model_id: x}\nrouting: {simple: a, complex: a}\nretries: {budget: 1s}\n", "CATO_RETRIES__MAX_ATTEMPTS", "[1, 2]"},
		{"store: redis://:pw@127.0.0.1:6379/0\n", "CATO_STORE", "postgres://u:p@h/db"},
		{"cache: {threshold: 2}\n", "CATO_CACHE__THRESHOLD", "0.7"},
		{"a: &x [*x]\n", "CATO_LISTEN", "{"},
		{"listen: [1, 2]\nbogus: 1\n", "CATO_NOPE__X", "1"},
		{"server: {max_in_flight: -1}\n", "CATO_SERVER__MAX_IN_FLIGHT", ""},
		{"<<: {listen: x}\n", "CATO_AUTH__KEYS", "[{key_env: K, tenant: t}]"},
		{"", "", ""},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, file []byte, name, value string) {
		path := filepath.Join(t.TempDir(), "cato.yaml")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, []string{name + "=" + value})
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("loaded a configuration that does not validate again: %v", err)
		}
		first, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("writing a loaded configuration: %v", err)
		}
		again, err := Parse(first)
		if err != nil {
			t.Fatalf("a loaded configuration written as YAML does not parse: %v\n%s", err, first)
		}
		second, err := yaml.Marshal(again)
		if err != nil || string(first) != string(second) {
			t.Fatalf("round trip:\n%s\nbecame\n%s (%v)", first, second, err)
		}
	})
}
