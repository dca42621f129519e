package config

import (
	"strings"
	"testing"
)

func TestTelemetry(t *testing.T) {
	const base = "models: {a: {provider: simulated}}\n"
	tests := []struct {
		name      string
		yaml      string
		wantURL   string
		wantRatio float64 // -1: unset
		wantErr   string
	}{
		{"off by default", base, "", -1, ""},
		{"endpoint and ratio", base + "telemetry: {otlp_endpoint: http://otel:4318, sample_ratio: 0.01}\n", "http://otel:4318", 0.01, ""},
		{"ratio zero is kept", base + "telemetry: {otlp_endpoint: https://otel, sample_ratio: 0}\n", "https://otel", 0, ""},
		{"endpoint not a URL", base + "telemetry: {otlp_endpoint: otel:4318}\n", "", -1, "telemetry.otlp_endpoint"},
		{"ratio above one", base + "telemetry: {sample_ratio: 1.5}\n", "", -1, "telemetry.sample_ratio: 1.5 is not between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v; want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Telemetry.OTLPEndpoint; got != tt.wantURL {
				t.Errorf("otlp_endpoint = %q; want %q", got, tt.wantURL)
			}
			got := -1.0
			if cfg.Telemetry.SampleRatio != nil {
				got = *cfg.Telemetry.SampleRatio
			}
			if got != tt.wantRatio {
				t.Errorf("sample_ratio = %v; want %v", got, tt.wantRatio)
			}
		})
	}
}
