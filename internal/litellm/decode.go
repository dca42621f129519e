package litellm

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// envPrefix marks a LiteLLM value read from the environment:
// os.environ/NAME.
const envPrefix = "os.environ/"

// maxInput caps the configuration text Import reads; a proxy
// configuration is a few kilobytes.
const maxInput = 4 << 20

// document is a decoded LiteLLM configuration: each section as YAML
// decoded it, since LiteLLM accepts many keys Cato has no use for and the
// report names each of them.
type document struct {
	models  []any
	router  map[string]any
	library map[string]any // litellm_settings
	general map[string]any
	env     map[string]any // environment_variables
	other   []string       // other top-level keys, sorted
}

// decode reads a LiteLLM configuration. It fails when text is not YAML,
// not a mapping, or when a section has the wrong shape.
func decode(text []byte) (*document, error) {
	if len(text) > maxInput {
		return nil, fmt.Errorf("the file is %d bytes; a LiteLLM configuration is at most %d", len(text), maxInput)
	}
	var top map[string]any
	if err := yaml.Unmarshal(text, &top); err != nil {
		return nil, fmt.Errorf("not a YAML mapping: %w", err)
	}
	if top == nil {
		return nil, errors.New("the file is empty")
	}
	d := &document{}
	var errs []error
	section := func(key string) map[string]any {
		v, ok := top[key]
		if !ok || v == nil {
			return map[string]any{}
		}
		m, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("%s is %s; want a section of keys", key, describe(v)))
			return map[string]any{}
		}
		return m
	}
	switch v := top["model_list"].(type) {
	case nil:
	case []any:
		d.models = v
	default:
		errs = append(errs, fmt.Errorf("model_list is %s; want a list of deployments", describe(v)))
	}
	d.router = section("router_settings")
	d.library = section("litellm_settings")
	d.general = section("general_settings")
	d.env = section("environment_variables")
	for _, k := range slices.Sorted(maps.Keys(top)) {
		switch k {
		case "model_list", "router_settings", "litellm_settings", "general_settings", "environment_variables":
		default:
			d.other = append(d.other, k)
		}
	}
	return d, errors.Join(errs...)
}

// describe names the YAML shape of v for an error.
func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a section"
	case []any:
		return "a list"
	case string:
		return "a string"
	case nil:
		return "empty"
	}
	return "a value"
}

// scalar returns v as text when it is a scalar (string, number or bool).
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// envName returns NAME when s is os.environ/NAME.
func envName(s string) (string, bool) {
	name, ok := strings.CutPrefix(strings.TrimSpace(s), envPrefix)
	return name, ok && name != ""
}

// number returns v as a float, from a number or a numeric string.
func number(v any) (float64, bool) {
	s, ok := scalar(v)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// seconds returns v, a number of seconds as LiteLLM writes timeouts, as a
// positive duration of at most a day.
func seconds(v any) (time.Duration, bool) {
	f, ok := number(v)
	if !ok || f <= 0 || f > 86400 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond), true
}

// count returns v as a non-negative integer of at most max.
func count(v any, max int) (int, bool) {
	f, ok := number(v)
	if !ok || f < 0 || f > float64(max) || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}

// truthy reads a LiteLLM boolean: true, "true", "True".
func truthy(v any) bool {
	s, ok := scalar(v)
	return ok && strings.EqualFold(strings.TrimSpace(s), "true")
}

// fallbackList reads LiteLLM's fallbacks, a list of one-key sections
// ([{"gpt-4": ["gpt-3.5"]}]) or one section, in file order. bad lists what
// did not have that shape.
func fallbackList(v any) (pairs []fallbackPair, bad bool) {
	add := func(m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			to, ok := m[k].([]any)
			if !ok {
				if s, isStr := scalar(m[k]); isStr {
					to, ok = []any{s}, true
				}
			}
			if !ok {
				bad = true
				continue
			}
			p := fallbackPair{from: k}
			for _, t := range to {
				if s, ok := scalar(t); ok {
					p.to = append(p.to, s)
				} else {
					bad = true
				}
			}
			pairs = append(pairs, p)
		}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				add(m)
			} else {
				bad = true
			}
		}
	case map[string]any:
		add(x)
	case nil:
	default:
		bad = true
	}
	return pairs, bad
}

type fallbackPair struct {
	from string
	to   []string
}
