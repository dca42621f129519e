package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cato-gateway/cato/internal/cache"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/embed/titan"
	"github.com/cato-gateway/cato/internal/embed/use"
	"github.com/cato-gateway/cato/internal/router"
	"github.com/cato-gateway/cato/internal/simulator"
)

// The functions of this file map sections of the configuration onto the
// options of the packages they configure. A zero value is passed on as
// zero, so that the package's own default applies.

// cacheOptions maps the cache section; an unset cache.enabled is enabled.
func cacheOptions(c config.Cache) cache.Options {
	return cache.Options{
		Disabled:       c.Enabled != nil && !*c.Enabled,
		Threshold:      c.Threshold,
		TTL:            c.TTL,
		MaxEntries:     c.MaxEntries,
		MaxTemperature: c.MaxTemperature,
		MaxEntryBytes:  c.MaxEntryBytes,
		MaxBytes:       c.MaxBytes,
	}
}

// routerConfig maps the routing section.
func routerConfig(r config.Routing) router.Config {
	ex := make([]router.Exemplar, 0, len(r.Exemplars))
	for _, e := range r.Exemplars {
		ex = append(ex, router.Exemplar{Name: e.Name, Model: e.Model, Examples: e.Examples, Threshold: e.Threshold})
	}
	return router.Config{
		Simple:              r.Simple,
		Complex:             r.Complex,
		HiddenStates:        r.HiddenStates,
		ComplexityThreshold: r.ComplexityThreshold,
		Domains:             r.Domains,
		Tenants:             r.Tenants,
		Fallbacks:           r.Fallbacks,
		Exemplars:           ex,
	}
}

// simulatorOptions maps the simulate section of a simulated model.
func simulatorOptions(s config.Simulate) simulator.Options {
	return simulator.Options{
		Latency:         s.Latency,
		Jitter:          s.Jitter,
		TokensPerSecond: s.TokensPerSecond,
		ErrorRate:       s.ErrorRate,
		ErrorStatus:     s.ErrorStatus,
		ResetRate:       s.ResetRate,
		StallRate:       s.StallRate,
		HiddenDim:       s.HiddenDim,
		AnswerTokens:    s.AnswerTokens,
	}
}

// newEmbedder builds the embedder the embeddings section names: "use" (or
// unset) gives the offline sentence encoder wrapped in embed.Cached (4096
// recent texts), since a forward pass costs about a millisecond; "local"
// (or "glove") the offline GloVe *embed.Local; "openai" and "bedrock" give
// their client wrapped in embed.Cached (4096 recent texts), since each
// call costs a round trip. env holds the variable named by api_key_env; hc
// is the shared upstream client.
func newEmbedder(ctx context.Context, c config.Embeddings, hc *http.Client, env map[string]string) (embed.Embedder, error) {
	switch c.Provider {
	case "local", "glove":
		return embed.NewLocal(embed.LocalOptions{})
	case "", "use":
		enc, err := use.New(use.Options{})
		if err != nil {
			return nil, err
		}
		return embed.NewCached(enc, 0), nil
	case "openai":
		var key string
		if c.APIKeyEnv != "" {
			key = env[c.APIKeyEnv]
		}
		o, err := embed.NewOpenAI(embed.OpenAIOptions{BaseURL: c.BaseURL, Model: c.Model, APIKey: key, Client: hc})
		if err != nil {
			return nil, err
		}
		return embed.NewCached(o, 0), nil
	case "bedrock":
		t, err := titan.New(ctx, titan.Options{Model: c.Model, Region: c.Region, Endpoint: c.Endpoint, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		return embed.NewCached(t, 0), nil
	}
	return nil, fmt.Errorf("embeddings.provider %q is not use, local (glove), openai or bedrock", c.Provider)
}
