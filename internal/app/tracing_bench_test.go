package app

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cato-gateway/cato/internal/simulator"
)

// BenchmarkTracing measures one non-streamed chat completion through Cato
// to the simulator (cache off, as in BenchmarkProxy) with tracing off, on
// at sample ratio 0.01 and on at 1.0, exporting to an OTLP/HTTP sink in
// the same process. Each setting minus "off" is what tracing adds to a
// request; bench/tracing.sh measures it as latency at a fixed rate.
func BenchmarkTracing(b *testing.B) {
	sim := httptest.NewServer(simulator.NewServer(simulator.Options{}, nil, slog.New(slog.DiscardHandler)))
	defer sim.Close()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer sink.Close()
	body := []byte(`{"model":"bedrock_haiku","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, bc := range []struct{ name, telemetry string }{
		{"off", ""},
		{"ratio_0.01", "telemetry: {otlp_endpoint: " + sink.URL + ", sample_ratio: 0.01}\n"},
		{"ratio_1", "telemetry: {otlp_endpoint: " + sink.URL + ", sample_ratio: 1}\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := gatewayB(b, upstreamConfig(sim.URL)+"cache: {enabled: false}\n"+bc.telemetry) + "/v1/chat/completions"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
