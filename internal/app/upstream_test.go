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
	if got.Timeout != 30*time.Second || got.MaxConcurrency != 0 || got.FailureStatuses != nil {
		t.Errorf("guardConfig(haiku) = %+v; want upstream.timeout 30s, no limit, default statuses", got)
	}
	// Zero: breakers.default leaves every tuning to package breaker's defaults.
	if diff := cmp.Diff(breaker.Config{}, gotB); diff != "" {
		t.Errorf("guardConfig(haiku) breaker mismatch (-want +got):\n%s", diff)
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
