package config

import (
	"fmt"
	"time"
)

// backoffMax is backoff.DefaultMax, the wait retries.max means when zero;
// config does not import the provider side, so it is repeated here and a
// test keeps the two equal.
const backoffMax = 2 * time.Second

// attemptTimeout returns the per-attempt timeout of model and the key that
// sets it.
func (c *Config) attemptTimeout(model string) (time.Duration, string) {
	if m, ok := c.Models[model]; ok && m.Timeout > 0 {
		return m.Timeout, "models." + model + ".timeout"
	}
	return c.Upstream.Timeout, "upstream.timeout"
}

// worstCase is the longest a model can keep a request before its caller may
// fall back: every attempt timing out, with the longest wait between them
// (a backoff, or an upstream's Retry-After, both capped by retries.max).
func (c *Config) worstCase(model string) time.Duration {
	t, _ := c.attemptTimeout(model)
	wait := c.Retries.Max
	if wait <= 0 {
		wait = backoffMax
	}
	n := time.Duration(c.Retries.MaxAttempts)
	return n*t + (n-1)*wait
}

// fallbackBudget checks that every model with fallbacks leaves its first
// fallback at least one whole attempt within retries.budget: otherwise a
// primary that accepts calls and never answers spends the whole budget and
// its fallbacks never run. Each problem names the keys and the fix.
func (c *Config) fallbackBudget() []error {
	budget := c.Retries.Budget
	if budget <= 0 {
		return nil
	}
	var errs []error
	for _, from := range sortedKeys(c.Routing.Fallbacks) {
		chain := c.Routing.Fallbacks[from]
		if len(chain) == 0 {
			continue
		}
		next := chain[0]
		t, tkey := c.attemptTimeout(from)
		nt, nkey := c.attemptTimeout(next)
		worst := c.worstCase(from)
		if worst+nt <= budget {
			continue
		}
		left := max(budget-worst, 0)
		errs = append(errs, fmt.Errorf("routing.fallbacks.%s: model %s may take %v (retries.max_attempts %d × %s %v, plus retries.max between attempts), which leaves %v of retries.budget (%v) to its fallback %s, less than the %v one attempt of it needs (%s); lower %s or retries.max_attempts, or raise retries.budget to at least %v",
			from, from, worst, c.Retries.MaxAttempts, tkey, t, left, budget, next, nt, nkey, tkey, worst+nt))
	}
	return errs
}
