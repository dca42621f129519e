package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Validate reports every problem in c at once, each naming the key and what
// would fix it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port (for example 127.0.0.1:8080)", c.Listen)
	}
	if a := c.Server.AdminListen; a != "" {
		if _, port, err := net.SplitHostPort(a); err != nil {
			bad("server.admin_listen", "%q is not host:port (for example :9090)", a)
		} else if a == c.Listen && port != "0" {
			bad("server.admin_listen", "%q is the address of listen; use another port", a)
		}
	}
	if err := ValidateStoreURL(c.Store); err != nil {
		bad("store", "%v", err)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Server.MaxBodyBytes < 1024 {
		bad("server.max_body_bytes", "%d is too small; use at least 1024", c.Server.MaxBodyBytes)
	}
	for _, l := range []struct {
		key string
		v   int64
	}{{"server.max_in_flight", int64(c.Server.MaxInFlight)}, {"server.max_connections_per_ip", int64(c.Server.MaxConnectionsPerIP)}, {"server.max_connections", int64(c.Server.MaxConnections)}, {"server.body_min_rate", c.Server.BodyMinRate}} {
		if l.v < -1 {
			bad(l.key, "%d is negative; use -1 for no limit, or leave it out for the default", l.v)
		}
	}
	if c.Server.BodyReadGrace < 0 {
		bad("server.body_read_grace", "%s is negative", c.Server.BodyReadGrace)
	}
	if b := c.Server.BodyBudgetBytes; b != -1 && b < c.Server.MaxBodyBytes {
		bad("server.body_budget_bytes", "%d is below server.max_body_bytes (%d), so the largest body could never be read; raise it, or use -1 for no budget", b, c.Server.MaxBodyBytes)
	}
	if !slices.Contains([]string{"auto", "h2c", "off"}, c.Upstream.HTTP2) {
		bad("upstream.http2", "%q is not auto, h2c or off", c.Upstream.HTTP2)
	}

	if len(c.Models) == 0 {
		bad("models", "no model is configured; add at least one (see README.md)")
	}
	for _, name := range sortedKeys(c.Models) {
		m := c.Models[name]
		key := "models." + name
		switch m.Provider {
		case ProviderBedrock:
			if !slices.Contains([]string{"converse", "invoke"}, m.API) {
				bad(key+".api", "%q is not converse or invoke", m.API)
			}
		case ProviderSageMaker, ProviderNLI:
			if m.EndpointName == "" {
				bad(key+".endpoint_name", "is required for provider %s", m.Provider)
			}
			if m.Provider == ProviderSageMaker && !slices.Contains([]string{"sglang", "openai", "tgi"}, m.Payload) {
				bad(key+".payload", "%q is not sglang, openai or tgi", m.Payload)
			}
		case ProviderOpenAI:
			if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(key+".base_url", "%q is not an http(s) URL; give the server's base URL with its /v1 prefix", m.BaseURL)
			}
		case ProviderSimulated:
		default:
			bad(key+".provider", "%q is not one of bedrock, sagemaker, openai, nli, simulated", m.Provider)
		}
		if m.Endpoint != "" {
			if u, err := url.Parse(m.Endpoint); err != nil || u.Scheme == "" || u.Host == "" {
				bad(key+".endpoint", "%q is not a URL such as http://127.0.0.1:9000", m.Endpoint)
			}
		}
		if !slices.Contains([]string{"last_token", "mean"}, m.HiddenStates.Pooling) {
			bad(key+".hidden_states.pooling", "%q is not last_token or mean", m.HiddenStates.Pooling)
		}
		if m.MaxQueue < 0 {
			bad(key+".max_queue", "cannot be negative")
		}
		s := m.Simulate
		for _, r := range []struct {
			k string
			v float64
		}{{"error_rate", s.ErrorRate}, {"reset_rate", s.ResetRate}, {"stall_rate", s.StallRate}} {
			if r.v < 0 || r.v > 1 {
				bad(key+".simulate."+r.k, "%v is not between 0 and 1", r.v)
			}
		}
	}

	model := func(key, name string) {
		if _, ok := c.Models[name]; !ok && name != "" {
			bad(key, "model %q is not configured under models (configured: %s)", name, strings.Join(sortedKeys(c.Models), ", "))
		}
	}
	if c.Routing.Simple == "" && len(c.Models) > 1 {
		bad("routing.simple", "is required when more than one model is configured: name the model that answers simple queries (configured: %s)", strings.Join(sortedKeys(c.Models), ", "))
	}
	model("routing.simple", c.Routing.Simple)
	model("routing.complex", c.Routing.Complex)
	model("routing.hidden_states", c.Routing.HiddenStates)
	if t := c.Routing.ComplexityThreshold; t < 0 || t > 1 {
		bad("routing.complexity_threshold", "%v is not in (0, 1]", t)
	}
	for _, d := range sortedKeys(c.Routing.Domains) {
		model("routing.domains."+d, c.Routing.Domains[d])
	}
	for _, t := range sortedKeys(c.Routing.Tenants) {
		model("routing.tenants."+t, c.Routing.Tenants[t])
	}
	for _, from := range sortedKeys(c.Routing.Fallbacks) {
		model("routing.fallbacks", from)
		for _, to := range c.Routing.Fallbacks[from] {
			model("routing.fallbacks."+from, to)
		}
	}
	for i, e := range c.Routing.Exemplars {
		key := fmt.Sprintf("routing.exemplars[%d]", i)
		model(key+".model", e.Model)
		if len(e.Examples) == 0 {
			bad(key+".examples", "an exemplar route needs at least one example query")
		}
		if e.Threshold < 0 || e.Threshold > 1 {
			bad(key+".threshold", "%v is not in (0, 1]", e.Threshold)
		}
	}
	for _, name := range sortedKeys(c.Breakers) {
		if name != "default" {
			model("breakers."+name, name)
		}
		b := c.Breakers[name]
		if b.FailureRate > 1 {
			bad("breakers."+name+".failure_rate", "%v is above 1; give a share such as 0.5, or a negative value to disable the rule", b.FailureRate)
		}
	}
	if c.Retries.MaxAttempts < 1 {
		bad("retries.max_attempts", "must be at least 1")
	} else {
		for _, err := range c.fallbackBudget() {
			errs = append(errs, err)
		}
	}
	if c.Auth.StoreTimeout < 0 {
		bad("auth.store_timeout", "%v is negative", c.Auth.StoreTimeout)
	}
	for i, k := range c.Auth.Keys {
		at := fmt.Sprintf("auth.keys[%d]", i)
		if k.KeyEnv == "" || k.Tenant == "" {
			bad(at, "each key needs key_env and tenant")
		}
		if k.RPM < 0 || k.TPM < 0 || k.BudgetUSD < 0 {
			bad(at, "rpm, tpm and budget_usd must not be negative (0 means no limit)")
		}
		if p := k.BudgetPeriod; p != "" && p != "day" && p != "month" {
			bad(at+".budget_period", "%q is not day or month", p)
		}

	}
	model("session.summary_model", c.Session.SummaryModel)
	if t := c.Cache.Threshold; t < 0 || t > 1 {
		bad("cache.threshold", "%v is not in (0, 1]", t)
	}
	if n := c.Cache.MaxEntryBytes; n < 0 {
		bad("cache.max_entry_bytes", "%d is negative", n)
	}
	if n := c.Cache.MaxBytes; n < 0 {
		bad("cache.max_bytes", "%d is negative", n)
	}
	if !slices.Contains([]string{"", "use", "local", "glove", "openai", "bedrock"}, c.Embeddings.Provider) {
		bad("embeddings.provider", "%q is not use, local (glove), openai or bedrock", c.Embeddings.Provider)
	}
	model("memory.extract_model", c.Memory.ExtractModel)
	model("memory.nli_model", c.Memory.NLIModel)
	if m, ok := c.Models[c.Memory.NLIModel]; ok && m.Provider != ProviderNLI {
		bad("memory.nli_model", "model %q has provider %s; the judge must be a model of provider nli (or leave nli_model empty for the rule judge)", c.Memory.NLIModel, m.Provider)
	}
	if !slices.Contains([]string{"auto", "rules", "model"}, c.Memory.Extractor) {
		bad("memory.extractor", "%q is not auto, rules or model", c.Memory.Extractor)
	}
	if c.Memory.RecallK < 0 || c.Memory.ContextTokens < 0 || c.Memory.Workers < 0 || c.Memory.Lease < 0 {
		bad("memory", "recall_k, context_tokens, workers and lease cannot be negative")
	}
	if u := c.Telemetry.OTLPEndpoint; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("telemetry.otlp_endpoint", "%q is not an http(s) base URL such as http://otel-collector:4318", u)
		}
	}
	if r := c.Telemetry.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		bad("telemetry.sample_ratio", "%v is not between 0 and 1", *r)
	}
	if p := *c.Rollout.Percentage; p < 0 || p > 100 {
		bad("rollout.percentage", "%d is not between 0 and 100", p)
	}
	model("rollout.legacy", c.Rollout.Legacy)
	if m, ok := c.Models[c.Rollout.Legacy]; ok && m.Provider != ProviderOpenAI && m.Provider != ProviderSimulated {
		bad("rollout.legacy", "model %q has provider %s; the legacy side must be an openai (LiteLLM) or simulated model", c.Rollout.Legacy, m.Provider)
	}
	if *c.Rollout.Percentage < 100 && c.Rollout.Legacy == "" {
		bad("rollout.legacy", "is required when rollout.percentage is below 100: name the model that serves the legacy side")
	}
	if s := c.Rollout.Shadow.Percentage; s < 0 || s > 100 {
		bad("rollout.shadow.percentage", "%v is not between 0 and 100", s)
	}
	if sr := c.Rollout.AutoRollback.Satisfaction; sr != nil {
		if sr.Margin <= 0 || sr.Margin > 1 {
			bad("rollout.auto_rollback.satisfaction.margin", "%v is not above 0 and at most 1 (a share: 0.05 is five points)", sr.Margin)
		}
		if sr.MinRatings < 0 {
			bad("rollout.auto_rollback.satisfaction.min_ratings", "%d is negative", sr.MinRatings)
		}
		if c.Feedback.Enabled != nil && !*c.Feedback.Enabled {
			bad("rollout.auto_rollback.satisfaction", "needs feedback, which feedback.enabled turns off")
		}
	}
	if f := c.Feedback; f.AnswerTTL < 0 || f.Retention < 0 || f.Window < 0 || f.Refresh < 0 {
		bad("feedback", "answer_ttl, retention, window and refresh cannot be negative")
	}
	for _, k := range sortedKeys(c.Rollout.Overrides) {
		if v := c.Rollout.Overrides[k]; v != "new" && v != "legacy" {
			bad("rollout.overrides."+k, "%q is not new or legacy", v)
		}
	}
	return errors.Join(errs...)
}

// ValidateStoreURL checks the scheme of a store URL. The store package
// parses the rest.
func ValidateStoreURL(raw string) error {
	switch {
	case strings.HasPrefix(raw, "embedded://"):
		if strings.TrimPrefix(raw, "embedded://") == "" {
			return errors.New("embedded:// needs a path, for example embedded:///var/lib/cato or embedded://.cato")
		}
		return nil
	case strings.HasPrefix(raw, "redis://"), strings.HasPrefix(raw, "rediss://"),
		strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"),
		strings.HasPrefix(raw, "dynamodb://"):
		// The URL is not echoed: it may hold a password.
		if _, err := url.Parse(raw); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("not a valid URL: %w", err)
		}
		return nil
	}
	scheme, _, _ := strings.Cut(raw, "://")
	if len(scheme) > 20 || strings.ContainsAny(scheme, "@:/") {
		scheme = "?"
	}
	return fmt.Errorf("scheme %q: the scheme must be embedded://, redis://, rediss://, postgres:// or dynamodb://", scheme)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
