package config

import (
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/backoff"
)

func TestBackoffMaxMatchesPackage(t *testing.T) {
	if backoffMax != backoff.DefaultMax {
		t.Errorf("backoffMax = %v; want backoff.DefaultMax %v", backoffMax, backoff.DefaultMax)
	}
}

// Validate refuses a configuration in which a primary's attempts leave
// its fallback no time within the request budget, naming the keys and the
// fix.
func TestValidateFallbackBudget(t *testing.T) {
	const models = `
models:
  a: {provider: simulated}
  b: {provider: simulated}
routing: {simple: a, fallbacks: {a: [b]}}
`
	tests := []struct {
		name  string
		extra string
		want  []string // substrings of the error; nil: valid
	}{
		{name: "defaults leave the fallback its time"},
		{
			name:  "the old defaults spend the whole budget on the primary",
			extra: "upstream: {timeout: 60s}\nretries: {max_attempts: 2, budget: 120s}\n",
			want:  []string{"routing.fallbacks.a", "retries.max_attempts 2", "upstream.timeout 1m0s", "leaves 0s", "raise retries.budget to at least 3m2s"},
		},
		{
			name:  "a model's own timeout is named",
			extra: "retries: {max_attempts: 3, budget: 60s}\n",
			want:  []string{"models.a.timeout", "lower models.a.timeout"},
		},
		{
			name:  "a larger budget fixes it",
			extra: "upstream: {timeout: 60s}\nretries: {budget: 200s}\n",
		},
		{
			name:  "one attempt each fits",
			extra: "upstream: {timeout: 60s}\nretries: {max_attempts: 1, budget: 120s}\n",
		},
		{
			name:  "retries.max counts between attempts",
			extra: "upstream: {timeout: 30s}\nretries: {max_attempts: 3, max: 10s, budget: 120s}\n",
			want:  []string{"may take 1m50s", "leaves 10s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := models + tt.extra
			if strings.Contains(tt.name, "own timeout") {
				text = strings.Replace(text, "a: {provider: simulated}", "a: {provider: simulated, timeout: 20s}", 1)
			}
			_, err := Parse([]byte(text))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse() = %v; want a valid configuration", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Parse() = nil; want the fallback budget refused")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDefaultTimeouts(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Upstream.Timeout != 30*time.Second || c.Upstream.StreamIdleTimeout != 30*time.Second {
		t.Errorf("upstream timeout %v, stream_idle_timeout %v; want 30s and 30s", c.Upstream.Timeout, c.Upstream.StreamIdleTimeout)
	}
}
