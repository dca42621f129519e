package provider

import (
	"math"
	"testing"

	"github.com/cato-gateway/cato/internal/llm"
)

func TestPriceCost(t *testing.T) {
	tests := []struct {
		name  string
		price Price
		usage llm.Usage
		want  float64
	}{
		{"zero price is free", Price{}, llm.Usage{PromptTokens: 1000, CompletionTokens: 1000}, 0},
		{"no tokens cost nothing", Price{InputPerMTok: 3, OutputPerMTok: 15}, llm.Usage{}, 0},
		{"one million each way", Price{InputPerMTok: 3, OutputPerMTok: 15}, llm.Usage{PromptTokens: 1e6, CompletionTokens: 1e6}, 18},
		{"haiku small call", Price{InputPerMTok: 0.80, OutputPerMTok: 4.00}, llm.Usage{PromptTokens: 12, CompletionTokens: 1}, 0.0000136},
		{"input only", Price{InputPerMTok: 0.25}, llm.Usage{PromptTokens: 4000, CompletionTokens: 99}, 0.001},
		{"output only", Price{OutputPerMTok: 75}, llm.Usage{PromptTokens: 50, CompletionTokens: 2000}, 0.15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.price.Cost(tt.usage); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("%+v.Cost(%+v) = %v; want %v", tt.price, tt.usage, got, tt.want)
			}
		})
	}
}
