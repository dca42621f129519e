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
			Simple:       "bedrock_haiku",
			Complex:      "bedrock_sonnet",
			HiddenStates: "shadow_self",
			Fallbacks: map[string][]string{
				"bedrock_sonnet": {"bedrock_haiku"},
				"shadow_self":    {"bedrock_sonnet", "bedrock_haiku"},
			},
		},
		Rollout: Rollout{Legacy: "legacy"},
	}
}

// applyDefaults fills the zero values that config owns with their
// documented defaults, and derives the model names a file leaves out from
// the models it configures; it never names a model of Default.
//
// A key whose zero value a package gives a meaning (the breaker, backoff,
// cache, router, session and simulator tunings) stays zero here: the
// package's Default constants are its one definition, and the field's doc
// comment names them.
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
	def(&s.IdleTimeout, 30*time.Second)
	def(&s.BodyReadGrace, 5*time.Second)
	if s.BodyMinRate == 0 {
		s.BodyMinRate = 64 << 10
	}
	if s.BodyBudgetBytes == 0 {
		s.BodyBudgetBytes = 64 * s.MaxBodyBytes
	}
	def(&s.ShutdownTimeout, 30*time.Second)
	if s.HTTP2 == nil {
		s.HTTP2 = &t
	}
	defInt(&s.MaxConcurrentStreams, 250)
	defInt(&s.GCPercent, 400)

	u := &c.Upstream
	def(&u.Timeout, 30*time.Second)
	def(&u.StreamIdleTimeout, 30*time.Second)
	def(&u.DialTimeout, 5*time.Second)
	defInt(&u.MaxIdleConnsPerHost, 1024)
	defStr(&u.HTTP2, "auto")

	// The provider packages give these zero values no meaning of their
	// own yet, so config fills them.
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
		if m.Price == (Price{}) {
			m.Price = knownPrice(m.ModelID)
		}
		c.Models[name] = m
	}

	// A file with a single model routes everything to it; with more, it
	// must say which answers simple queries (Validate asks for it).
	r := &c.Routing
	if r.Simple == "" && len(c.Models) == 1 {
		for name := range c.Models {
			r.Simple = name
		}
	}

	defInt(&c.Retries.MaxAttempts, 2)
	def(&c.Retries.Budget, 120*time.Second)

	defStr(&c.Auth.AdminKeyEnv, "CATO_ADMIN_KEY")

	defStr(&c.Session.SummaryModel, r.Simple)

	defStr(&c.Memory.ExtractModel, r.Simple)
	defStr(&c.Memory.Extractor, "auto")
	if c.Memory.Enabled == nil {
		c.Memory.Enabled = &t
	}

	// The rollout package gives these zero values no meaning of its own
	// yet, so config fills them.
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
