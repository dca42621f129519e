package metrics

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cato-gateway/cato/internal/llm"
)

// ModelUsage is one model's totals since start.
type ModelUsage struct {
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

type modelCounters struct {
	requests, errors, in, out atomic.Int64
	microCost                 atomic.Int64 // cost in millionths of a cent, so it can be an atomic integer
}

// Book counts usage per model for /status. It is safe for concurrent use.
type Book struct {
	models sync.Map // model name -> *modelCounters
}

func (b *Book) counters(model string) *modelCounters {
	if c, ok := b.models.Load(model); ok {
		return c.(*modelCounters)
	}
	c, _ := b.models.LoadOrStore(model, new(modelCounters))
	return c.(*modelCounters)
}

// RecordCall counts one answered call of model with its usage and cost.
func (m *Metrics) RecordCall(model string, u llm.Usage, costUSD float64) {
	c := m.Book.counters(model)
	c.requests.Add(1)
	c.in.Add(int64(u.PromptTokens))
	c.out.Add(int64(u.CompletionTokens))
	c.microCost.Add(int64(costUSD * 1e8))
	m.Tokens.WithLabelValues(model, "input").Add(float64(u.PromptTokens))
	m.Tokens.WithLabelValues(model, "output").Add(float64(u.CompletionTokens))
	m.CostUSD.WithLabelValues(model).Add(costUSD)
}

// RecordError counts one failed call of model.
func (m *Metrics) RecordError(model string) {
	m.Book.counters(model).errors.Add(1)
}

// Usage returns the totals per model.
func (b *Book) Usage() map[string]ModelUsage {
	out := map[string]ModelUsage{}
	b.models.Range(func(k, v any) bool {
		c := v.(*modelCounters)
		out[k.(string)] = ModelUsage{
			Requests: c.requests.Load(), Errors: c.errors.Load(),
			InputTokens: c.in.Load(), OutputTokens: c.out.Load(),
			CostUSD: float64(c.microCost.Load()) / 1e8,
		}
		return true
	})
	return out
}

// Names returns the models with counters, sorted.
func (b *Book) Names() []string {
	var names []string
	b.models.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	sort.Strings(names)
	return names
}
