package provider

import (
	"log/slog"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
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

// NewGuards wraps each adapter in a Guard configured by configure(model),
// each with its own breaker; a nil configure leaves every model the zero
// GuardConfig and breaker.Config. The hooks replace GuardConfig.OnCallDone.
// The result is keyed like adapters; read it only after construction.
func NewGuards(adapters map[string]Provider, configure func(model string) (GuardConfig, breaker.Config), hooks GuardHooks, log *slog.Logger) map[string]*Guard {
	guards := make(map[string]*Guard, len(adapters))
	for model, p := range adapters {
		var gc GuardConfig
		var bc breaker.Config
		if configure != nil {
			gc, bc = configure(model)
		}
		b := breaker.New(model, bc, breaker.Options{Now: hooks.Now, OnStateChange: hooks.OnStateChange})
		gc.OnCallDone = hooks.OnCallDone
		guards[model] = NewGuard(model, p, b, gc, log)
	}
	return guards
}
