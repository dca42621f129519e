package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
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
	// Breaker tuning is left zero for package breaker to default: the
	// breaker it gives opens after 5 failures and half-opens after 30s.
	d := c.Breakers["default"]
	clk := time.Unix(0, 0)
	b := breaker.New("m", breaker.Config{Failures: d.Failures, Cooldown: d.Cooldown}, breaker.Options{Now: func() time.Time { return clk }})
	for range 5 {
		done, err := b.Allow()
		if err != nil {
			t.Fatalf("breakers.default = %+v: open before 5 failures", d)
		}
		done(breaker.Failure)
	}
	clk = clk.Add(30*time.Second - time.Nanosecond)
	if b.State() != breaker.Open {
		t.Errorf("breakers.default = %+v: state %s after 5 failures; want open", d, b.State())
	}
	clk = clk.Add(time.Nanosecond)
	if b.State() != breaker.HalfOpen {
		t.Errorf("breakers.default = %+v: state %s 30s after opening; want half_open", d, b.State())
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
routing: {simple: bedrock_haiku, complex: bedrock_sonnet}
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
	if got := c.Breakers["bedrock_sonnet"]; got.Failures != 3 || got.Cooldown != 0 {
		t.Errorf("breakers.bedrock_sonnet = %+v; want failures 3 with a zero cooldown (breaker.DefaultCooldown applies)", got)
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
		{"unknown top-level key", "listne: x\n", nil, []string{"line 1", "unknown key listne (did you mean listen?)"}},
		{"unknown nested key", "models:\n  a: {provider: simulated, endpont: x}\n", nil, []string{"line 2", "endpont"}},
		{"bad duration", "upstream: {timeout: soon}\n", nil, []string{"soon", "time.Duration"}},
		{"bad provider", "models: {a: {provider: azure}}\nrouting: {simple: a, complex: a, hidden_states: a}\nsession: {summary_model: a}\nmemory: {extract_model: a}\n", nil, []string{"models.a.provider", "bedrock, sagemaker, openai"}},
		{"routing to a missing model", "models: {a: {provider: simulated}}\nrouting: {simple: bedrock_haiku}\n", nil, []string{"routing.simple", `"bedrock_haiku" is not configured`}},
		{"two models and no simple route", "models: {a: {provider: simulated}, b: {provider: simulated}}\n", nil, []string{"routing.simple", "is required when more than one model is configured", "configured: a, b"}},
		{"percentage out of range", "", []string{"CATO_ROLLOUT__PERCENTAGE=150"}, []string{"rollout.percentage", "150"}},
		{"rollout override to no side", "", []string{"CATO_ROLLOUT__OVERRIDES={team-a: both}"}, []string{"rollout.overrides.team-a", `"both" is not new or legacy`}},
		{"bad store", "", []string{"CATO_STORE=mysql://x"}, []string{"store", "embedded://, redis://"}},
		{"negative cache entry size", "cache: {max_entry_bytes: -1}\n", nil, []string{"cache.max_entry_bytes", "-1 is negative"}},
		{"negative cache budget", "", []string{"CATO_CACHE__MAX_BYTES=-5"}, []string{"cache.max_bytes", "-5 is negative"}},
		{"env into a value", "", []string{"CATO_LISTEN__X=1"}, []string{"CATO_LISTEN__X", "holds a value"}},
		{"judge that is no NLI model", "", []string{"CATO_MEMORY__NLI_MODEL=bedrock_haiku"}, []string{"memory.nli_model", "provider nli"}},
		{"unknown extractor", "", []string{"CATO_MEMORY__EXTRACTOR=llm"}, []string{"memory.extractor", `"llm" is not auto, rules or model`}},
		{"satisfaction margin missing", "rollout: {auto_rollback: {enabled: true, satisfaction: {min_ratings: 20}}}\n", nil, []string{"rollout.auto_rollback.satisfaction.margin", "0 is not above 0"}},
		{"satisfaction without feedback", "feedback: {enabled: false}\nrollout: {auto_rollback: {satisfaction: {margin: 0.1}}}\n", nil, []string{"rollout.auto_rollback.satisfaction", "feedback.enabled"}},
		{"negative feedback window", "", []string{"CATO_FEEDBACK__WINDOW=-1m"}, []string{"feedback", "cannot be negative"}},
		{"negative key limit", "auth: {keys: [{key_env: K, tenant: t, rpm: -1}]}\n", nil, []string{"auth.keys[0]", "must not be negative"}},
		{"unknown budget period", "auth: {keys: [{key_env: K, tenant: t, budget_period: week}]}\n", nil, []string{"auth.keys[0].budget_period", `"week" is not day or month`}},
		{"unknown key limit", "auth: {keys: [{key_env: K, tenant: t, rps: 5}]}\n", nil, []string{"rps"}},
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

// TestValidateStoreURLHidesPasswords: a store URL that is refused is not
// echoed in the error, which reaches the log.
func TestValidateStoreURLHidesPasswords(t *testing.T) {
	for _, raw := range []string{"postgres://u:s3cret{@h/db", "redis://:s3cret@h:port/0", "mysql://u:s3cret@h/db", "u:s3cret@h"} {
		err := ValidateStoreURL(raw)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ValidateStoreURL(%q) = %v; want an error without the password", raw, err)
		}
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

// TestTwoModelFile checks that a file naming its own models inherits none
// of the built-in default's: it loads with two models and two routes, and
// nothing in it names bedrock_haiku, shadow_self or the legacy model.
func TestTwoModelFile(t *testing.T) {
	c, err := Parse([]byte(`
models:
  a: {provider: simulated}
  b: {provider: simulated}
routing: {simple: a, complex: b}
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	got := map[string]string{
		"routing.simple":        c.Routing.Simple,
		"routing.complex":       c.Routing.Complex,
		"routing.hidden_states": c.Routing.HiddenStates,
		"session.summary_model": c.Session.SummaryModel,
		"memory.extract_model":  c.Memory.ExtractModel,
		"rollout.legacy":        c.Rollout.Legacy,
	}
	want := map[string]string{
		"routing.simple":        "a",
		"routing.complex":       "b",
		"routing.hidden_states": "",
		"session.summary_model": "a",
		"memory.extract_model":  "a",
		"rollout.legacy":        "",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q; want %q", k, got[k], w)
		}
	}
	if len(c.Models) != 2 || len(c.Routing.Fallbacks) != 0 {
		t.Errorf("models %v, fallbacks %v; want the file's two models and no fallbacks", c.Models, c.Routing.Fallbacks)
	}
	if c.Memory.Enabled == nil || !*c.Memory.Enabled {
		t.Error("memory.enabled unset is false; want long-term memory on by default")
	}
	if c.Memory.Extractor != "auto" {
		t.Errorf("memory.extractor = %q; want auto by default", c.Memory.Extractor)
	}
}

func TestOneModelFileRoutesToIt(t *testing.T) {
	c, err := Parse([]byte("models: {only: {provider: simulated}}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Routing.Simple != "only" || c.Session.SummaryModel != "only" {
		t.Errorf("routing.simple, session.summary_model = %q, %q; want the only model", c.Routing.Simple, c.Session.SummaryModel)
	}
}

// TestErrorMessages is the table of what a wrong key or value says: its
// YAML path and the fix, with the file's line or the environment variable
// that set it, never a line of a generated document.
func TestErrorMessages(t *testing.T) {
	const two = "models: {a: {provider: simulated}, b: {provider: simulated}}\nrouting: {simple: a}\n"
	tests := []struct {
		name string
		yaml string
		env  []string
		want string // the whole message after "config PATH: " for a file
	}{
		{"misspelt model key", "models:\n  fast:\n    provder: simulated\n", nil,
			"line 3: models.fast: unknown key provder (did you mean provider?)"},
		{"swapped letters at the top", "listne: x\n", nil,
			"line 1: unknown key listne (did you mean listen?)"},
		{"no key near it", "cache: {colour: blue}\n", nil,
			"line 1: cache: unknown key colour (the keys here are enabled, threshold, ttl, max_entries, max_temperature, max_entry_bytes, max_bytes)"},
		{"duration", "upstream: {timeout: soon}\n", nil,
			`line 1: upstream.timeout: "soon" is not a duration such as 500ms, 30s or 1m30s (time.Duration)`},
		{"whole number", "server: {max_body_bytes: lots}\n", nil,
			`line 1: server.max_body_bytes: "lots" is not a whole number`},
		{"number deep in a map", "models:\n  a:\n    simulate: {error_rate: high}\n", nil,
			`line 3: models.a.simulate.error_rate: "high" is not a number`},
		{"boolean", "rollout: {side_header: maybe}\n", nil,
			`line 1: rollout.side_header: "maybe" is not true or false`},
		{"list expected", "routing:\n  exemplars:\n    - {name: x, model: a, examples: hello}\n", nil,
			`line 3: routing.exemplars[0].examples: is the value "hello"; want a list such as [a, b]`},
		{"section expected", "log: verbose\n", nil,
			`line 1: log: is the value "verbose"; want a section of keys (format, level, payloads)`},
		{"env key misspelt", "", []string{"CATO_ROLLOUT__PERCENTGE=10"},
			"CATO_ROLLOUT__PERCENTGE: rollout: unknown key percentge (did you mean percentage?)"},
		{"env key under a model", two, []string{"CATO_MODELS__A__PROVDER=simulated"},
			"CATO_MODELS__A__PROVDER: models.a: unknown key provder (did you mean provider?)"},
		{"env value of the wrong type", "", []string{"CATO_UPSTREAM__TIMEOUT=soon"},
			`CATO_UPSTREAM__TIMEOUT: upstream.timeout: "soon" is not a duration such as 500ms, 30s or 1m30s (time.Duration)`},
		{"env into a value", "", []string{"CATO_LISTEN__PORT=1"},
			"CATO_LISTEN__PORT: listen holds a value, not a section: it has no key port"},
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
			got := err.Error()
			if path != "" && len(tt.env) == 0 {
				got = strings.TrimPrefix(got, "config "+path+": ")
			}
			if got != tt.want {
				t.Errorf("Load error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"provider", "provider", 0},
		{"provder", "provider", 1},
		{"listne", "listen", 1},
		{"percentge", "percentage", 1},
		{"", "ttl", 3},
		{"colour", "enabled", 7},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestBenchConfigsLoad keeps the configurations the benchmark scripts
// start Cato with loadable.
func TestBenchConfigsLoad(t *testing.T) {
	paths, err := filepath.Glob("../../bench/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no bench/*.yaml found (%v)", err)
	}
	for _, p := range paths {
		if _, err := Load(p, nil); err != nil {
			t.Errorf("Load(%s): %v", p, err)
		}
	}
}

func TestAnchorsAndMergeKeysAreChecked(t *testing.T) {
	base := `
sim: &sim {provider: simulated, simulate: {latency: 5ms}}
`
	if _, err := Parse([]byte(base)); err == nil || !strings.Contains(err.Error(), "unknown key sim") {
		t.Errorf("Parse(top-level anchor holder) = %v; want unknown key sim", err)
	}
	ok := `
models:
  a: &sim {provider: simulated, simulate: {latency: 5ms}}
  b: {<<: *sim, max_concurrency: 4}
  c: {<<: [*sim], max_queue: 2}
routing: {simple: a}
`
	c, err := Parse([]byte(ok))
	if err != nil {
		t.Fatalf("Parse(merge keys): %v", err)
	}
	if c.Models["b"].Simulate.Latency != 5*time.Millisecond || c.Models["c"].MaxQueue != 2 {
		t.Errorf("merged models = %+v; want b and c to take a's settings", c.Models)
	}
	bad := `
models:
  a: &sim {provider: simulated, latncy: 5ms}
  b: {<<: *sim}
routing: {simple: a}
`
	if _, err := Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "models.a: unknown key latncy") || !strings.Contains(err.Error(), "models.b: unknown key latncy") {
		t.Errorf("Parse(bad merged key) = %v; want it named under models.a and models.b", err)
	}
}

// TestOverloadSettings checks the defaults and the validation of the
// server's overload limits.
func TestOverloadSettings(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if s.MaxInFlight != 0 || s.MaxConnectionsPerIP != 0 || s.MaxConnections != 0 || s.AdminListen != "" || s.IdleTimeout != 30*time.Second ||
		s.BodyReadGrace != 5*time.Second || s.BodyMinRate != 64<<10 || s.BodyBudgetBytes != 64*s.MaxBodyBytes {
		t.Errorf("defaults = %+v; want in-flight and per-IP caps left to the open-file limit, idle 30s, grace 5s, 64 KiB/s, budget 64 bodies", s)
	}

	tests := []struct {
		env  string
		want string // "" for valid
	}{
		{"CATO_SERVER__MAX_IN_FLIGHT=1000", ""},
		{"CATO_SERVER__MAX_IN_FLIGHT=-1", ""},
		{"CATO_SERVER__MAX_IN_FLIGHT=-2", "server.max_in_flight: -2 is negative"},
		{"CATO_SERVER__MAX_CONNECTIONS_PER_IP=64", ""},
		{"CATO_SERVER__MAX_CONNECTIONS_PER_IP=-1", ""},
		{"CATO_SERVER__MAX_CONNECTIONS_PER_IP=-5", "server.max_connections_per_ip: -5 is negative"},
		{"CATO_SERVER__MAX_CONNECTIONS=20000", ""},
		{"CATO_SERVER__MAX_CONNECTIONS=-1", ""},
		{"CATO_SERVER__MAX_CONNECTIONS=-2", "server.max_connections: -2 is negative"},
		{"CATO_SERVER__ADMIN_LISTEN=:9090", ""},
		{"CATO_SERVER__ADMIN_LISTEN=nonsense", "server.admin_listen"},
		{"CATO_SERVER__ADMIN_LISTEN=127.0.0.1:8080", "server.admin_listen: \"127.0.0.1:8080\" is the address of listen"},
		{"CATO_SERVER__BODY_MIN_RATE=-1", ""},
		{"CATO_SERVER__BODY_MIN_RATE=-3", "server.body_min_rate: -3 is negative"},
		{"CATO_SERVER__BODY_READ_GRACE=-1s", "server.body_read_grace: -1s is negative"},
		{"CATO_SERVER__BODY_BUDGET_BYTES=-1", ""},
		{"CATO_SERVER__BODY_BUDGET_BYTES=4194304", ""},
		{"CATO_SERVER__BODY_BUDGET_BYTES=4194303", "server.body_budget_bytes: 4194303 is below server.max_body_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := Load("", []string{tt.env})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Load: %v; want it valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Load: %v; want an error with %q", err, tt.want)
			}
		})
	}
}
