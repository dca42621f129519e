package app

import (
	"context"
	"errors"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/provider"
)

// observeCall counts one attempt of a guarded model call.
func (a *App) observeCall(cd provider.CallDone) {
	a.metrics.UpstreamRequests.WithLabelValues(cd.Model, callOutcome(cd.Err)).Inc()
	if cd.Attempt > 0 && !errors.Is(cd.Err, breaker.ErrOpen) {
		a.metrics.UpstreamDuration.WithLabelValues(cd.Model).Observe(cd.Duration.Seconds())
	}
}

// observeBreaker records and logs a breaker's change of state.
func (a *App) observeBreaker(tr breaker.Transition) {
	a.metrics.BreakerState.WithLabelValues(tr.Model).Set(float64(tr.To))
	a.metrics.BreakerChanges.WithLabelValues(tr.Model, tr.To.String()).Inc()
	a.log.Warn("breaker state changed", "model", tr.Model, "from", tr.From.String(), "breaker_state", tr.To.String(), "reason", tr.Reason)
}

func callOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, breaker.ErrOpen):
		return "breaker_open"
	case errors.Is(err, provider.ErrOverloaded):
		return "overloaded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case isTimeout(err):
		return "timeout"
	}
	return "error"
}

// isTimeout reports whether err is a *provider.Error with code timeout. It
// is apart from callOutcome so that the target errors.As needs is
// allocated only for failed calls.
func isTimeout(err error) bool {
	var pe *provider.Error
	return errors.As(err, &pe) && pe.Code == provider.CodeTimeout
}

func breakerStatus(guards map[string]*provider.Guard) map[string]breaker.Snapshot {
	out := make(map[string]breaker.Snapshot, len(guards))
	for name, g := range guards {
		out[name] = g.Status().Breaker
	}
	return out
}
