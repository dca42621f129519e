package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/provider"
)

func TestCallOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{fmt.Errorf("m: %w", breaker.ErrOpen), "breaker_open"},
		{provider.ErrOverloaded, "overloaded"},
		{context.Canceled, "canceled"},
		{fmt.Errorf("attempt: %w", &provider.Error{Code: "timeout"}), "timeout"},
		{&provider.Error{Code: "rate_limited"}, "error"},
		{errors.New("boom"), "error"},
	} {
		if got := callOutcome(tc.err); got != tc.want {
			t.Errorf("callOutcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
