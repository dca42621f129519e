package loadtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// instantServer answers every chat request at once with a minimal body and
// Cato's headers, so that a run measures the generator (and the HTTP stack),
// not the server.
func instantServer(b *testing.B, h2c bool) *httptest.Server {
	body := []byte(`{"choices":[{"message":{"role":"assistant","content":"4"}}]}`)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-Cato-Cache", "miss")
		h.Set("X-Cato-Model", "bedrock_haiku")
		h.Set("X-Cato-Side", "new")
		_, _ = w.Write(body)
	}))
	if h2c {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = p
		srv.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 10000}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkOverhead measures what the generator itself can do against a
// server in the same process that answers at once: each op is one bounded
// run of 2,000 requests. It reports requests per second (generator and
// server share the CPUs, so this is a floor for the generator alone) and
// the p99 schedule lag of the open-loop runs (how late requests left).
//
//	go test -run '^$' -bench Overhead -benchtime 3x ./internal/loadtest/
func BenchmarkOverhead(b *testing.B) {
	w := mustWorkload(b, "users: 100\nqueries: [{text: 'What is 2+2?', weight: 3}, {paraphrases: [a, b, c]}]\n")
	const perOp = 2000
	cases := []struct {
		h2c         bool
		concurrency int
		rate        float64
	}{
		{false, 64, 0},
		{true, 64, 0},
		{false, 0, 5000},
		{true, 0, 5000},
		{true, 0, 20000},
	}
	for _, c := range cases {
		proto := "http1"
		if c.h2c {
			proto = "h2c"
		}
		name := fmt.Sprintf("%s/closed-%d", proto, c.concurrency)
		if c.rate > 0 {
			name = fmt.Sprintf("%s/open-%.0f", proto, c.rate)
		}
		b.Run(name, func(b *testing.B) {
			srv := instantServer(b, c.h2c)
			b.ReportAllocs()
			var sent, failed int64
			var elapsed time.Duration
			lag := newHistogram(fineFigures)
			for b.Loop() {
				res, err := Run(b.Context(), Options{
					URL: srv.URL, Workload: w, Concurrency: c.concurrency, Rate: c.rate, H2C: c.h2c,
					Duration: 30 * time.Second, MaxRequests: perOp, Timeout: 10 * time.Second,
				}, discard())
				if err != nil {
					b.Fatal(err)
				}
				sent += res.Sent
				failed += res.Failed
				elapsed += res.End.Sub(res.Start)
				lag.Merge(res.Lag)
			}
			if failed > 0 {
				b.Errorf("%d of %d requests failed", failed, sent)
			}
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(sent), "ns/req")
			if c.rate > 0 {
				b.ReportMetric(float64(lag.Quantile(99).Microseconds()), "lag-p99-µs")
			}
		})
	}
}
