package app

import (
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/breaker"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/bedrock"
	"github.com/cato-gateway/cato/internal/provider/sagemaker"
	"github.com/google/go-cmp/cmp"
)

func TestGuardConfig(t *testing.T) {
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.Models["bedrock_sonnet"]
	m.Timeout, m.MaxConcurrency, m.MaxQueue = 20*time.Second, 64, 128
	cfg.Models["bedrock_sonnet"] = m
	cfg.Breakers["bedrock_sonnet"] = config.Breaker{Failures: 3, FailureRate: 0.5, MinRequests: 10, Window: time.Minute, Cooldown: 10 * time.Second, HalfOpenProbes: 2, Statuses: []int{503}}

	got, gotB := guardConfig(cfg, "bedrock_sonnet")
	want := provider.GuardConfig{Timeout: 20 * time.Second, StreamIdleTimeout: 30 * time.Second, MaxAttempts: 2, MaxConcurrency: 64, MaxQueue: 128, FailureStatuses: []int{503}}
	// want.Backoff stays zero: retries.base and retries.max are left to package backoff's defaults.
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b func(provider.CallDone)) bool { return a == nil && b == nil })); diff != "" {
		t.Errorf("guardConfig(sonnet) guard mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(breaker.Config{Failures: 3, FailureRate: 0.5, MinRequests: 10, Window: time.Minute, Cooldown: 10 * time.Second, HalfOpenProbes: 2}, gotB); diff != "" {
		t.Errorf("guardConfig(sonnet) breaker mismatch (-want +got):\n%s", diff)
	}
	got, gotB = guardConfig(cfg, "bedrock_haiku")
	// The default bedrock_haiku is simulated: no upstream, no default cap.
	if got.Timeout != 30*time.Second || got.MaxConcurrency != 0 || got.FailureStatuses != nil {
		t.Errorf("guardConfig(haiku) = %+v; want upstream.timeout 30s, no limit, default statuses", got)
	}
	m = cfg.Models["bedrock_haiku"]
	m.Provider = config.ProviderBedrock
	cfg.Models["bedrock_haiku"] = m
	conns := maxConnsPerHost(0, openFileLimit())
	if got, _ = guardConfig(cfg, "bedrock_haiku"); got.MaxConcurrency != conns || got.MaxQueue != conns {
		t.Errorf("guardConfig(haiku on bedrock) limit %d, queue %d; want the connection cap %d and as long a queue", got.MaxConcurrency, got.MaxQueue, conns)
	}
	// Zero: breakers.default leaves every tuning to package breaker's defaults.
	if diff := cmp.Diff(breaker.Config{}, gotB); diff != "" {
		t.Errorf("guardConfig(haiku) breaker mismatch (-want +got):\n%s", diff)
	}
}

// TestModelConcurrency: a model reached over the network is capped by
// default at the upstream connection cap, with a queue as long, so that
// calls past it wait in a bounded queue (and are then refused to the
// fallback) instead of in the transport's unbounded one.
func TestModelConcurrency(t *testing.T) {
	tests := []struct {
		name                string
		m                   config.Model
		conns               int
		wantLimit, wantWait int
	}{
		{"default: the connection cap", config.Model{Provider: config.ProviderBedrock}, 1024, 1024, 1024},
		{"default with a queue of its own", config.Model{Provider: config.ProviderOpenAI, MaxQueue: 10}, 1024, 1024, 10},
		{"set: no queue unless set", config.Model{Provider: config.ProviderOpenAI, MaxConcurrency: 8}, 1024, 8, 0},
		{"set with a queue", config.Model{Provider: config.ProviderSageMaker, MaxConcurrency: 8, MaxQueue: 16}, 1024, 8, 16},
		{"negative: no cap", config.Model{Provider: config.ProviderOpenAI, MaxConcurrency: -1}, 1024, 0, 0},
		{"no connection cap: none", config.Model{Provider: config.ProviderOpenAI}, 0, 0, 0},
		{"simulated: no upstream, no default cap", config.Model{Provider: config.ProviderSimulated}, 1024, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit, queue := modelConcurrency(tt.m, tt.conns)
			if limit != tt.wantLimit || queue != tt.wantWait {
				t.Errorf("modelConcurrency() = %d, %d; want %d, %d", limit, queue, tt.wantLimit, tt.wantWait)
			}
		})
	}
}

func TestPriceConvertsFromConfig(t *testing.T) {
	c := config.Price{InputPerMTok: 3, OutputPerMTok: 15}
	if got, want := provider.Price(c), (provider.Price{InputPerMTok: 3, OutputPerMTok: 15}); got != want {
		t.Errorf("Price(%+v) = %+v; want %+v", c, got, want)
	}
}

// TestAdapterOptions checks that every setting of a model reaches its
// adapter's options.
func TestAdapterOptions(t *testing.T) {
	m := config.Model{
		ModelID: "id", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9", API: "invoke",
		EndpointName: "ep", Variant: "a", HiddenStatesVariant: "b", Payload: "tgi",
		HiddenStates: config.HiddenStates{Layer: -2, Pooling: "mean", MaxDim: 8},
	}
	if diff := cmp.Diff(bedrock.Options{ModelID: "id", API: "invoke", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9"}, bedrockOptions(m)); diff != "" {
		t.Errorf("bedrockOptions mismatch (-want +got):\n%s", diff)
	}
	want := sagemaker.Options{
		EndpointName: "ep", Variant: "a", HiddenStatesVariant: "b", Payload: "tgi", ModelID: "id",
		HiddenStates: sagemaker.HiddenStates{Layer: -2, Pooling: "mean", MaxDim: 8}, Region: "eu-west-1", Endpoint: "http://127.0.0.1:9",
	}
	if diff := cmp.Diff(want, sagemakerOptions(m)); diff != "" {
		t.Errorf("sagemakerOptions mismatch (-want +got):\n%s", diff)
	}
}
