package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/keys"
	"github.com/cato-gateway/cato/internal/testenv"
)

// BenchmarkKeyAdmit measures what a request with a limited key pays before
// it is answered: the rate limiter and budget check (keys.Gate.Admit, one
// atomic step in the store), with every limit set so that every check
// runs, on each backend. It reports the p50 and p99 of one admission.
//
//	scripts/testenv.sh go test -run '^$' -bench KeyAdmit -benchtime 20000x ./internal/store/
func BenchmarkKeyAdmit(b *testing.B) {
	backends := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"embedded", func(b *testing.B) string { return "embedded://" + b.TempDir() }},
		{"redis", func(b *testing.B) string {
			return testenv.RedisURL(b) + fmt.Sprintf("?prefix=bench-keys-%d:", time.Now().UnixNano())
		}},
		{"postgres", func(b *testing.B) string { return testenv.PostgresURL(b) }},
		{"dynamodb", func(b *testing.B) string { return dynamoTableURL(b) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			backend, err := Open(ctx, be.url(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer backend.Close()
			g, err := keys.New(keys.Options{Store: backend.Keys(), Timeout: 10 * time.Second}, nil)
			if err != nil {
				b.Fatal(err)
			}
			k, _, err := g.Create(ctx, "bench", keys.Limits{RPM: 1 << 40, TPM: 1 << 50, BudgetUSD: 1e6})
			if err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				if _, err := g.Admit(ctx, k, 100); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
			b.ReportMetric(at(0.50), "p50-µs")
			b.ReportMetric(at(0.99), "p99-µs")
		})
	}
}
