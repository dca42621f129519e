package litellm

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// The types below are the part of Cato's configuration an import writes,
// with the same YAML keys as package config's types. They leave out what
// is unset, so that the file written holds only what came from LiteLLM and
// Cato's defaults stay visible as defaults. Tests check the written file
// with config.Parse, which refuses any key config does not know.

type outConfig struct {
	Store    string                 `yaml:"store,omitempty"`
	Upstream *outUpstream           `yaml:"upstream,omitempty"`
	Models   map[string]*outModel   `yaml:"models"`
	Routing  outRouting             `yaml:"routing"`
	Breakers map[string]*outBreaker `yaml:"breakers,omitempty"`
	Retries  *outRetries            `yaml:"retries,omitempty"`
	Auth     *outAuth               `yaml:"auth,omitempty"`
	Cache    *outCache              `yaml:"cache,omitempty"`
	Rollout  *outRollout            `yaml:"rollout,omitempty"`
}

type outUpstream struct {
	Timeout duration `yaml:"timeout,omitempty"`
}

type outModel struct {
	Provider     string    `yaml:"provider"`
	ModelID      string    `yaml:"model_id,omitempty"`
	Region       string    `yaml:"region,omitempty"`
	Endpoint     string    `yaml:"endpoint,omitempty"`
	EndpointName string    `yaml:"endpoint_name,omitempty"`
	BaseURL      string    `yaml:"base_url,omitempty"`
	APIKeyEnv    string    `yaml:"api_key_env,omitempty"`
	API          string    `yaml:"api,omitempty"`
	Payload      string    `yaml:"payload,omitempty"`
	Timeout      duration  `yaml:"timeout,omitempty"`
	Price        *outPrice `yaml:"price,omitempty"`
}

type outPrice struct {
	InputPerMTok  float64 `yaml:"input_per_mtok"`
	OutputPerMTok float64 `yaml:"output_per_mtok"`
}

type outRouting struct {
	Simple    string              `yaml:"simple"`
	Fallbacks map[string][]string `yaml:"fallbacks,omitempty"`
}

type outBreaker struct {
	Failures int      `yaml:"failures,omitempty"`
	Cooldown duration `yaml:"cooldown,omitempty"`
}

type outRetries struct {
	MaxAttempts int      `yaml:"max_attempts,omitempty"`
	Base        duration `yaml:"base,omitempty"`
	Budget      duration `yaml:"budget,omitempty"`
}

type outAuth struct {
	AdminKeyEnv string   `yaml:"admin_key_env,omitempty"`
	Keys        []outKey `yaml:"keys,omitempty"`
}

type outKey struct {
	KeyEnv string `yaml:"key_env"`
	Tenant string `yaml:"tenant"`
}

type outCache struct {
	Enabled   bool     `yaml:"enabled"`
	Threshold float64  `yaml:"threshold,omitempty"`
	TTL       duration `yaml:"ttl,omitempty"`
}

type outRollout struct {
	Percentage int    `yaml:"percentage"`
	Legacy     string `yaml:"legacy"`
}

// duration is a time.Duration written the way Cato's files write them
// ("30s", "2m0s"); zero is left out.
type duration time.Duration

func (d duration) IsZero() bool { return d == 0 }

func (d duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// marshal writes c as YAML under a header naming the source.
func (c *outConfig) marshal(source string) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Cato configuration imported from the LiteLLM proxy configuration %s\n", strconv.Quote(source))
	b.WriteString("# by `cato import litellm`; its report lists what was mapped, approximated\n# or left out (docs/import.md).\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
