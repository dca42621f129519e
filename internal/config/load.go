package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "CATO_"

// Load reads the configuration: Default when path is empty, else the YAML
// file at path; then the CATO_* environment overrides in environ (as
// os.Environ gives it); then defaults for what is still unset. It refuses
// unknown keys and values of the wrong type, naming each by its YAML path
// (and its line in the file, or the environment variable that set it), and
// returns Validate's verdict.
//
// An override names a key path in upper case, levels separated by a double
// underscore: CATO_LISTEN, CATO_ROLLOUT__PERCENTAGE=10,
// CATO_MODELS__BEDROCK_HAIKU__ENDPOINT=http://127.0.0.1:9000. Its value is
// read as YAML (so lists and numbers work). A variable is an override only
// when its first level names a top-level key, so that CATO_ADMIN_KEY and
// other CATO_* variables that hold secrets or tool settings are left alone.
func Load(path string, environ []string) (*Config, error) {
	var text []byte
	if path == "" {
		b, err := yaml.Marshal(Default())
		if err != nil {
			return nil, fmt.Errorf("encoding default config: %w", err)
		}
		text = b
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		text = b
		// Check the file as written first, so that errors point at its lines.
		if _, err := decodeChecked(text); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	tree := map[string]any{}
	if err := yaml.Unmarshal(text, &tree); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if tree == nil {
		tree = map[string]any{}
	}
	n, err := applyEnv(tree, environ)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if text, err = yaml.Marshal(tree); err != nil {
			return nil, err
		}
	}
	cfg, err := decodeChecked(text)
	if err != nil {
		// applyEnv checked every override against the Config type, so this
		// is a value that fits alone but not with the file's.
		return nil, fmt.Errorf("after %s* environment overrides: %w", EnvPrefix, err)
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Parse decodes YAML text strictly, applies defaults and validates. Tests
// and tools use it; Load is what `cato serve` calls.
func Parse(text []byte) (*Config, error) {
	cfg, err := decodeChecked(text)
	if err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	return cfg, cfg.Validate()
}

// decodeChecked decodes text into a Config after checking every key and
// value against the Config type, so that an error names the YAML path
// and its line rather than a Go type.
func decodeChecked(text []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	var ps []problem
	checkNode("", &doc, reflect.TypeFor[Config](), func(p problem) { ps = append(ps, p) })
	if len(ps) > 0 {
		errs := make([]error, 0, len(ps))
		for _, p := range sortedProblems(ps) {
			errs = append(errs, fmt.Errorf("line %d: %s", p.line, p))
		}
		return nil, errors.Join(errs...)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &cfg, nil
}

// applyEnv sets each override of environ into tree, after checking that
// its key path exists and its value fits; a problem names the variable.
func applyEnv(tree map[string]any, environ []string) (int, error) {
	top := topLevelKeys()
	environ = slices.Sorted(slices.Values(environ))
	var errs []error
	n := 0
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		path := strings.Split(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "__")
		if !top[path[0]] {
			continue
		}
		t, err := checkEnvPath(path, reflect.TypeFor[Config]())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		var node yaml.Node
		if err := yaml.Unmarshal([]byte(value), &node); err != nil {
			errs = append(errs, fmt.Errorf("%s: value is not valid YAML: %w", name, err))
			continue
		}
		var ps []problem
		checkNode(strings.Join(path, "."), &node, t, func(p problem) { ps = append(ps, p) })
		for _, p := range sortedProblems(ps) {
			errs = append(errs, fmt.Errorf("%s: %s", name, p))
		}
		if len(ps) > 0 {
			continue
		}
		var v any // an empty value is null: the key keeps its default
		if err := node.Decode(&v); node.Kind != 0 && err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if err := setPath(tree, path, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		n++
	}
	return n, errors.Join(errs...)
}

func setPath(tree map[string]any, path []string, v any) error {
	m := tree
	for _, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok || next == nil {
			child := map[string]any{}
			m[k] = child
			m = child
			continue
		}
		child, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("key %q holds a value, not a section", k)
		}
		m = child
	}
	m[path[len(path)-1]] = v
	return nil
}

func topLevelKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range yamlKeys(reflect.TypeFor[Config]()) {
		keys[k] = true
	}
	return keys
}
