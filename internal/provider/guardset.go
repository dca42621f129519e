package provider

import (
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/backoff"
	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/config"
)

// GuardHooks observe every Guard built by NewGuards. The zero GuardHooks
// is valid.
type GuardHooks struct {
	// OnCallDone is GuardConfig.OnCallDone.
	OnCallDone func(CallDone)
	// OnStateChange is breaker.Options.OnStateChange.
	OnStateChange func(breaker.Transition)
	// Now is the breakers' clock; nil means time.Now.
	Now func() time.Time
}

// NewGuards wraps each adapter in a Guard configured from cfg (see
// GuardConfigFor and BreakerConfigFor), each with its own breaker. The
// result is keyed like adapters; read it only after construction.
func NewGuards(cfg *config.Config, adapters map[string]Provider, hooks GuardHooks, log *slog.Logger) map[string]*Guard {
	guards := make(map[string]*Guard, len(adapters))
	for model, p := range adapters {
		b := breaker.New(model, BreakerConfigFor(cfg, model), breaker.Options{Now: hooks.Now, OnStateChange: hooks.OnStateChange})
		gc := GuardConfigFor(cfg, model)
		gc.OnCallDone = hooks.OnCallDone
		guards[model] = NewGuard(model, p, b, gc, log)
	}
	return guards
}

// GuardConfigFor returns the GuardConfig of model: its timeout (else
// upstream.timeout), its concurrency limit and queue, the retries, and the
// failure statuses of its breaker. OnCallDone is left nil.
func GuardConfigFor(cfg *config.Config, model string) GuardConfig {
	m := cfg.Models[model]
	timeout := m.Timeout
	if timeout == 0 {
		timeout = cfg.Upstream.Timeout
	}
	return GuardConfig{
		Timeout:         timeout,
		MaxAttempts:     cfg.Retries.MaxAttempts,
		Backoff:         backoff.Policy{Base: cfg.Retries.Base, Max: cfg.Retries.Max},
		MaxConcurrency:  m.MaxConcurrency,
		MaxQueue:        m.MaxQueue,
		FailureStatuses: breakerEntry(cfg, model).Statuses,
	}
}

// BreakerConfigFor returns the breaker configuration of model: its own
// entry under breakers, else the "default" entry.
func BreakerConfigFor(cfg *config.Config, model string) breaker.Config {
	b := breakerEntry(cfg, model)
	return breaker.Config{
		Failures:       b.Failures,
		FailureRate:    b.FailureRate,
		MinRequests:    b.MinRequests,
		Window:         b.Window,
		Cooldown:       b.Cooldown,
		HalfOpenProbes: b.HalfOpenProbes,
	}
}

func breakerEntry(cfg *config.Config, model string) config.Breaker {
	if b, ok := cfg.Breakers[model]; ok {
		return b
	}
	return cfg.Breakers["default"]
}
