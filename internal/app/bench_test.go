package app

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/simulator"
)

// BenchmarkProxy measures one non-streamed chat completion sent straight to
// the simulator (direct) and the same request through Cato to it
// (through_cato), in the same process, so that their ratio is Cato's
// overhead. Allocations count both client and server sides.
func BenchmarkProxy(b *testing.B) {
	sim := httptest.NewServer(simulator.NewServer(simulator.Options{}, nil, slog.New(slog.DiscardHandler)))
	defer sim.Close()
	body := []byte(`{"model":"bedrock_haiku","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	run := func(b *testing.B, url string) {
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
	}
	b.Run("direct", func(b *testing.B) { run(b, sim.URL+"/v1/chat/completions") })
	b.Run("through_cato", func(b *testing.B) {
		// The cache is off: every request must reach the upstream, as it
		// does in the direct baseline.
		base := gatewayB(b, upstreamConfig(sim.URL)+"cache: {enabled: false}\n")
		run(b, base+"/v1/chat/completions")
	})
	// Without feedback no answer is remembered: the difference from
	// through_cato is what remembering costs the request path.
	b.Run("through_cato_no_feedback", func(b *testing.B) {
		base := gatewayB(b, upstreamConfig(sim.URL)+"cache: {enabled: false}\nfeedback: {enabled: false}\n")
		run(b, base+"/v1/chat/completions")
	})
}

// BenchmarkProxyStream measures one streamed chat completion of
// streamTokens chunks sent straight to the simulator (direct) and the same
// request through Cato to it (through_cato), in the same process. Per-chunk
// cost is the difference divided by streamTokens.
func BenchmarkProxyStream(b *testing.B) {
	const streamTokens = 100
	sim := httptest.NewServer(simulator.NewServer(simulator.Options{AnswerTokens: streamTokens}, nil, slog.New(slog.DiscardHandler)))
	defer sim.Close()
	body := []byte(`{"model":"bedrock_haiku","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"What is the capital of France?"}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	run := func(b *testing.B, url string) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n < streamTokens*50 {
				b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, sim.URL+"/v1/chat/completions") })
	b.Run("through_cato", func(b *testing.B) {
		base := gatewayB(b, upstreamConfig(sim.URL)+"cache: {enabled: false}\n")
		run(b, base+"/v1/chat/completions")
	})
}

func gatewayB(b *testing.B, cfgYAML string) string {
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Store = "embedded://" + b.TempDir()
	a, err := New(b.Context(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(func() { srv.Close(); a.close() })
	return srv.URL
}

// BenchmarkProxyCache measures one non-streamed chat completion through
// Cato with the cache on, per embedder: "miss" asks a new question each
// time (embedded, searched, gated, answered upstream and stored), "repeat"
// the same question (served from the exact-repeat hash without
// embedding); cache_off is the baseline. miss minus cache_off is what
// the cache costs a request it cannot serve, the embedding included.
func BenchmarkProxyCache(b *testing.B) {
	sim := httptest.NewServer(simulator.NewServer(simulator.Options{}, nil, slog.New(slog.DiscardHandler)))
	defer sim.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(b *testing.B, url, question string) {
		body := fmt.Sprintf(`{"model":"bedrock_haiku","messages":[{"role":"user","content":%q}]}`, question)
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("cache_off", func(b *testing.B) {
		url := gatewayB(b, upstreamConfig(sim.URL)+"cache: {enabled: false}\n") + "/v1/chat/completions"
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			post(b, url, fmt.Sprintf("What is the population of town number %d in the survey?", i))
			i++
		}
	})
	for _, provider := range []string{"use", "local"} {
		cfg := upstreamConfig(sim.URL) + "embeddings: {provider: " + provider + "}\n"
		b.Run("miss/"+provider, func(b *testing.B) {
			url := gatewayB(b, cfg) + "/v1/chat/completions"
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				post(b, url, fmt.Sprintf("What is the population of town number %d in the survey?", i))
				i++
			}
		})
		b.Run("repeat/"+provider, func(b *testing.B) {
			url := gatewayB(b, cfg) + "/v1/chat/completions"
			post(b, url, "What is the capital of France?")
			b.ReportAllocs()
			for b.Loop() {
				post(b, url, "What is the capital of France?")
			}
		})
	}
}
