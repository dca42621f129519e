package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/embed"
	"github.com/cato-gateway/cato/internal/memory"
	"github.com/cato-gateway/cato/internal/provider"
	"github.com/cato-gateway/cato/internal/provider/nli"
	"github.com/cato-gateway/cato/internal/store"
)

// newLongTermMemory builds long-term memory over the backend's memory
// store and queue, with the extractor and judge the memory section names,
// and schedules its consolidation workers in the background work.
func (a *App) newLongTermMemory(ctx context.Context, cfg *config.Config, backend *store.Backend, emb embed.Embedder,
	guards map[string]*provider.Guard, count func(string) int) (*memory.Memory, error) {
	mc := cfg.Memory
	mb, err := backend.Memory(ctx, memory.QueueOptions{Lease: mc.Lease})
	if err != nil {
		return nil, fmt.Errorf("memory store: %w", err)
	}
	judge, err := a.memoryJudge(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.recallSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cato_memory_recall_seconds",
		Help: "Long-term memory recall latency on the request path, embedding included.", Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12)})
	a.metrics.Registry().MustRegister(a.recallSeconds)
	m, err := memory.New(memory.Options{
		Store: mb, Queue: mb, Embedder: emb,
		Extractor:     a.memoryExtractor(cfg, guards),
		Judge:         judge,
		Disabled:      !*mc.Enabled,
		Tenants:       mc.Tenants,
		RecallK:       mc.RecallK,
		ContextTokens: mc.ContextTokens,
		Workers:       mc.Workers,
		Count:         count,
		ObserveRecall: func(ev memory.RecallEvent) { a.recallSeconds.Observe(ev.Duration.Seconds()) },
		Log:           a.reqLog.With("component", "memory"),
	})
	if err != nil {
		return nil, err
	}
	a.background = append(a.background, m.Run)
	a.registerMemoryMetrics(m)
	return m, nil
}

// memoryExtractor returns the extractor memory.extractor names; "auto" is
// the model unless the extraction model is simulated (it cannot answer in
// JSON) or not a chat model.
func (a *App) memoryExtractor(cfg *config.Config, guards map[string]*provider.Guard) memory.Extractor {
	name := cfg.Memory.ExtractModel
	g, ok := guards[name]
	useModel := ok && (cfg.Memory.Extractor == "model" ||
		(cfg.Memory.Extractor == "auto" && cfg.Models[name].Provider != config.ProviderSimulated))
	if !useModel {
		return memory.RuleExtractor{}
	}
	return &memory.ModelExtractor{Chat: g.Chat, Model: name}
}

// memoryJudge returns the NLI judge on memory.nli_model, or nil (the rule
// judge).
func (a *App) memoryJudge(ctx context.Context, cfg *config.Config) (memory.Judge, error) {
	name := cfg.Memory.NLIModel
	if name == "" {
		return nil, nil
	}
	m := cfg.Models[name]
	c, err := nli.New(ctx, name, nli.Options{EndpointName: m.EndpointName, Variant: m.Variant, Region: m.Region, Endpoint: m.Endpoint}, a.upstream, a.log)
	if err != nil {
		return nil, fmt.Errorf("memory.nli_model: %w", err)
	}
	return &memory.NLIJudge{Classify: func(ctx context.Context, premise, hypothesis string) (string, error) {
		r, err := c.Classify(ctx, premise, hypothesis)
		return r.Label, err
	}}, nil
}

// memoryStatus is the memory section of /status, with the queue read now.
func memoryStatus(cfg *config.Config, m *memory.Memory) any {
	m.RefreshQueueStats(context.Background())
	return struct {
		Enabled bool `json:"enabled"`
		memory.Status
	}{*cfg.Memory.Enabled, m.Status()}
}

// registerMemoryMetrics exports memory's state and counts to Prometheus.
func (a *App) registerMemoryMetrics(m *memory.Memory) {
	reg := a.metrics.Registry()
	for name, get := range map[string]func(memory.Status) float64{
		"cato_memory_queue_depth":       func(s memory.Status) float64 { return float64(s.Queue.Depth) },
		"cato_memory_queue_in_flight":   func(s memory.Status) float64 { return float64(s.Queue.InFlight) },
		"cato_memory_queue_lag_seconds": func(s memory.Status) float64 { return s.Queue.LagSeconds },
	} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: memoryHelp[name]},
			func() float64 { return get(m.Status()) }))
	}
	reg.MustRegister(memoryCollector{m})
}

var memoryHelp = map[string]string{
	"cato_memory_queue_depth":       "Interactions waiting in the memory queue or being consolidated (read every 2s).",
	"cato_memory_queue_in_flight":   "Interactions claimed by a consolidation worker and not yet acknowledged.",
	"cato_memory_queue_lag_seconds": "Age of the oldest interaction in the memory queue.",
}

// memoryCollector exports memory's counts, whose labels are known only as
// they occur.
type memoryCollector struct{ m *memory.Memory }

var (
	memInteractions   = prometheus.NewDesc("cato_memory_interactions_total", "Interactions by outcome: recorded on the request path, dropped (buffer full), skipped (no user or memory off), enqueued, lost at shutdown, submitted through the API.", []string{"outcome"}, nil)
	memConsolidations = prometheus.NewDesc("cato_memory_consolidations_total", "Queue deliveries by outcome: ok, duplicate (a redelivery found done), forgotten, invalid, retry.", []string{"outcome"}, nil)
	memConflicts      = prometheus.NewDesc("cato_memory_conflicts_total", "Memory changes replanned because the user's memory changed first.", nil, nil)
	memExtractions    = prometheus.NewDesc("cato_memory_extractions_total", "Fact extractions by extractor and outcome (facts, none, malformed, error, fallback).", []string{"extractor", "outcome"}, nil)
	memJudgements     = prometheus.NewDesc("cato_memory_judgements_total", "Judgements of a new fact against a current one, by judge and verdict (entailment, contradiction, neutral, error).", []string{"judge", "verdict"}, nil)
	memFacts          = prometheus.NewDesc("cato_memory_facts_total", "New facts by fate: new, merged into a current one, superseded an older one, stale (older than a contradicting one).", []string{"fate"}, nil)
	memRecalls        = prometheus.NewDesc("cato_memory_recalls_total", "Recalls by outcome: added, none, error.", []string{"outcome"}, nil)
)

func (c memoryCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c memoryCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Status()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for outcome, v := range map[string]int64{"recorded": s.Recorded, "dropped": s.Dropped, "skipped": s.Skipped,
		"enqueued": s.Enqueued, "lost": s.Lost, "submitted": s.Submitted} {
		counter(memInteractions, v, outcome)
	}
	for outcome, v := range s.Consolidations {
		counter(memConsolidations, v, outcome)
	}
	counter(memConflicts, s.Conflicts)
	for label, v := range s.Extractions {
		ex, outcome := splitLabel(label)
		counter(memExtractions, v, ex, outcome)
	}
	for label, v := range s.Judgements {
		j, verdict := splitLabel(label)
		counter(memJudgements, v, j, verdict)
	}
	for fate, v := range s.Facts {
		counter(memFacts, v, fate)
	}
	for outcome, v := range s.Recalls {
		counter(memRecalls, v, outcome)
	}
}

// splitLabel splits "a/b".
func splitLabel(l string) (string, string) {
	for i := range len(l) {
		if l[i] == '/' {
			return l[:i], l[i+1:]
		}
	}
	return l, ""
}
