package config

import (
	"strings"
	"time"
)

// Provider names.
const (
	ProviderBedrock   = "bedrock"
	ProviderSageMaker = "sagemaker"
	ProviderOpenAI    = "openai"
	ProviderNLI       = "nli"
	ProviderSimulated = "simulated"
)

// Default returns the configuration `cato serve` runs with no file: loopback
// only, an embedded store in ./.cato, and simulated models behind the tier
// names, so that a newcomer can curl it at once.
func Default() *Config {
	// Simulated tiers carry the list price of the models they stand in for,
	// so that cost reporting can be seen working out of the box.
	sim := func(latency time.Duration, price Price) Model {
		return Model{Provider: ProviderSimulated, Price: price, Simulate: Simulate{Latency: latency, TokensPerSecond: 200}}
	}
	return &Config{
		Listen: "127.0.0.1:8080",
		Store:  "embedded://.cato",
		Models: map[string]Model{
			"bedrock_haiku":  sim(20*time.Millisecond, Price{InputPerMTok: 0.80, OutputPerMTok: 4.00}),
			"bedrock_sonnet": sim(60*time.Millisecond, Price{InputPerMTok: 3.00, OutputPerMTok: 15.00}),
			"shadow_self":    sim(40*time.Millisecond, Price{InputPerMTok: 0.20, OutputPerMTok: 0.20}),
			"nli":            {Provider: ProviderSimulated},
			"legacy":         sim(80*time.Millisecond, Price{InputPerMTok: 0.15, OutputPerMTok: 0.60}),
		},
		Routing: Routing{
			Fallbacks: map[string][]string{
				"bedrock_sonnet": {"bedrock_haiku"},
				"shadow_self":    {"bedrock_sonnet", "bedrock_haiku"},
			},
		},
		Rollout: Rollout{Legacy: "legacy"},
	}
}

// applyDefaults fills zero values with their documented defaults.
func (c *Config) applyDefaults() {
	def := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	defInt := func(p *int, d int) {
		if *p == 0 {
			*p = d
		}
	}
	defStr := func(p *string, d string) {
		if *p == "" {
			*p = d
		}
	}
	t := true
	defStr(&c.Listen, "127.0.0.1:8080")
	defStr(&c.Store, "embedded://.cato")
	defStr(&c.Log.Format, "text")
	defStr(&c.Log.Level, "info")

	s := &c.Server
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 4 << 20
	}
	def(&s.ReadHeaderTimeout, 10*time.Second)
	def(&s.ReadTimeout, 60*time.Second)
	def(&s.WriteTimeout, 10*time.Minute)
	def(&s.IdleTimeout, 120*time.Second)
	def(&s.ShutdownTimeout, 30*time.Second)
	if s.HTTP2 == nil {
		s.HTTP2 = &t
	}
	defInt(&s.MaxConcurrentStreams, 250)
	defInt(&s.GCPercent, 400)

	u := &c.Upstream
	def(&u.Timeout, 60*time.Second)
	def(&u.DialTimeout, 5*time.Second)
	defInt(&u.MaxIdleConnsPerHost, 1024)
	defStr(&u.HTTP2, "auto")

	for name, m := range c.Models {
		defStr(&m.ModelID, name)
		if m.Provider == ProviderBedrock {
			defStr(&m.API, "converse")
		}
		if m.Provider == ProviderSageMaker {
			defStr(&m.Payload, "sglang")
		}
		if m.HiddenStates.Layer == 0 {
			m.HiddenStates.Layer = -1
		}
		defStr(&m.HiddenStates.Pooling, "last_token")
		if m.Simulate.ErrorStatus == 0 {
			m.Simulate.ErrorStatus = 503
		}
		defInt(&m.Simulate.HiddenDim, 4096)
		if m.Price == (Price{}) {
			m.Price = knownPrice(m.ModelID)
		}
		c.Models[name] = m
	}

	r := &c.Routing
	defStr(&r.Simple, "bedrock_haiku")
	defStr(&r.Complex, "bedrock_sonnet")
	defStr(&r.HiddenStates, "shadow_self")
	if r.ComplexityThreshold == 0 {
		r.ComplexityThreshold = 0.5
	}
	for i := range r.Exemplars {
		if r.Exemplars[i].Threshold == 0 {
			r.Exemplars[i].Threshold = 0.8
		}
	}

	if c.Breakers == nil {
		c.Breakers = map[string]Breaker{}
	}
	for name, b := range c.Breakers {
		defInt(&b.Failures, 5)
		defInt(&b.MinRequests, 20)
		def(&b.Window, 60*time.Second)
		def(&b.Cooldown, 30*time.Second)
		defInt(&b.HalfOpenProbes, 1)
		c.Breakers[name] = b
	}
	if _, ok := c.Breakers["default"]; !ok {
		c.Breakers["default"] = Breaker{Failures: 5, MinRequests: 20, Window: 60 * time.Second, Cooldown: 30 * time.Second, HalfOpenProbes: 1}
	}

	defInt(&c.Retries.MaxAttempts, 2)
	def(&c.Retries.Base, 100*time.Millisecond)
	def(&c.Retries.Max, 2*time.Second)
	def(&c.Retries.Budget, 120*time.Second)

	defStr(&c.Auth.AdminKeyEnv, "CATO_ADMIN_KEY")

	def(&c.Session.TTL, 24*time.Hour)
	defInt(&c.Session.ContextTokens, 2000)
	defStr(&c.Session.SummaryModel, r.Simple)

	if c.Cache.Enabled == nil {
		c.Cache.Enabled = &t
	}
	if c.Cache.Threshold == 0 {
		c.Cache.Threshold = 0.75
	}
	def(&c.Cache.TTL, 24*time.Hour)
	defInt(&c.Cache.MaxEntries, 100000)

	defStr(&c.Embeddings.Provider, "local")

	if c.Memory.Enabled == nil {
		c.Memory.Enabled = &t
	}
	defStr(&c.Memory.ExtractModel, r.Simple)
	defInt(&c.Memory.RecallK, 3)

	ro := &c.Rollout
	if ro.Percentage == nil {
		hundred := 100
		ro.Percentage = &hundred
	}
	if ro.DualWrite == nil {
		ro.DualWrite = &t
	}
	// The rest of the rollout section's defaults are rollout's own; zero
	// values reach it as they are.
}

// knownPrice returns the list price of well-known Bedrock models (US
// dollars per million tokens, on-demand, us-east-1), or zero.
func knownPrice(modelID string) Price {
	switch {
	case strings.Contains(modelID, "claude-3-5-haiku"), strings.Contains(modelID, "claude-haiku-4"):
		return Price{InputPerMTok: 0.80, OutputPerMTok: 4.00}
	case strings.Contains(modelID, "claude-3-haiku"):
		return Price{InputPerMTok: 0.25, OutputPerMTok: 1.25}
	case strings.Contains(modelID, "claude-3-5-sonnet"), strings.Contains(modelID, "claude-3-7-sonnet"), strings.Contains(modelID, "claude-sonnet-4"):
		return Price{InputPerMTok: 3.00, OutputPerMTok: 15.00}
	case strings.Contains(modelID, "claude-3-opus"), strings.Contains(modelID, "claude-opus-4"):
		return Price{InputPerMTok: 15.00, OutputPerMTok: 75.00}
	}
	return Price{}
}
