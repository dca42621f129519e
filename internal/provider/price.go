package provider

import "github.com/cato-gateway/cato/internal/llm"

// Price is what one million tokens of a model cost, in US dollars. The zero
// Price makes every call free. app converts the configured price to it.
type Price struct {
	InputPerMTok  float64
	OutputPerMTok float64
}

// Cost returns what a call that used u costs at p, in US dollars.
func (p Price) Cost(u llm.Usage) float64 {
	return (float64(u.PromptTokens)*p.InputPerMTok + float64(u.CompletionTokens)*p.OutputPerMTok) / 1e6
}
