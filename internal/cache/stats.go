package cache

import (
	"sync/atomic"
	"time"
)

// LookupEvent describes one finished Lookup, for Options.Observe. Fields
// may be added.
type LookupEvent struct {
	Outcome Outcome
	Reason  Reason // for Bypass
	// Similarity is the served entry's similarity on a hit, else the best
	// candidate's (0 when there was none).
	Similarity float32
	// GateRejected counts candidates above the threshold that the content
	// agreement gate refused: false hits avoided.
	GateRejected int
	// Duration covers the whole lookup, embedding included.
	Duration time.Duration
}

// Stats is a snapshot of a Cache's counters since it was made.
type Stats struct {
	Hits     uint64 `json:"hits"`
	Misses   uint64 `json:"misses"`
	Bypasses uint64 `json:"bypasses"`
	// BypassesByReason counts bypasses by Reason; every reason is present.
	BypassesByReason map[Reason]uint64 `json:"bypasses_by_reason"`
	// HitRate is Hits / (Hits + Misses); bypassed requests are not
	// candidates. Zero before the first lookup.
	HitRate float64 `json:"hit_rate"`
	// Entries is how many entries this replica's indexes hold.
	Entries int `json:"entries"`
	// Bytes is what those entries account for against
	// Options.MaxBytes.
	Bytes int64 `json:"bytes"`
	// Evictions counts entries evicted to stay within the limits
	// (Options.MaxEntries, MaxBytes, MaxEntryBytes), and deleted from the
	// store.
	Evictions uint64 `json:"evictions"`
	// AnswersTooLarge counts answers not stored because they were longer
	// than Options.MaxEntryBytes.
	AnswersTooLarge uint64 `json:"answers_too_large"`
	// GateRejections counts candidates refused by the content gate.
	GateRejections uint64 `json:"gate_rejections"`
	// HitSimilarity is the histogram of the similarity of served hits.
	HitSimilarity Histogram `json:"hit_similarity"`
	// LookupSeconds is the histogram of lookup latency, bypasses included.
	LookupSeconds Histogram `json:"lookup_seconds"`
}

// Histogram is a cumulative histogram, as Prometheus keeps one.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending; a last implicit
	// bucket holds the rest.
	Bounds []float64 `json:"bounds"`
	// Counts[i] counts observations ≤ Bounds[i]; Counts[len(Bounds)]
	// counts them all.
	Counts []uint64 `json:"counts"`
	Sum    float64  `json:"sum"`
	Count  uint64   `json:"count"`
}

// similarityBounds are the buckets of Stats.HitSimilarity.
var similarityBounds = []float64{0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1}

// latencyBounds are the buckets of Stats.LookupSeconds.
var latencyBounds = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1}

// counters holds a Cache's statistics; atomics, so that lookups do not
// contend on a lock to count.
type counters struct {
	hits, misses, gate atomic.Uint64
	evicted            atomic.Uint64
	answersTooLarge    atomic.Uint64
	bypass             [16]atomic.Uint64 // by index in Reasons
	hitSim, latency    histogram
}

type histogram struct {
	bounds   []float64
	counts   []atomic.Uint64 // per bucket (not cumulative); last is +Inf
	sumMicro atomic.Uint64   // sum in millionths
	count    atomic.Uint64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumMicro.Add(uint64(v * 1e6))
	h.count.Add(1)
}

func (h *histogram) snapshot() Histogram {
	out := Histogram{Bounds: h.bounds, Counts: make([]uint64, len(h.counts)), Sum: float64(h.sumMicro.Load()) / 1e6, Count: h.count.Load()}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		out.Counts[i] = cum
	}
	return out
}

func (c *counters) record(ev LookupEvent) {
	switch ev.Outcome {
	case Hit:
		c.hits.Add(1)
		c.hitSim.observe(float64(ev.Similarity))
	case Miss:
		c.misses.Add(1)
	case Bypass:
		for i, r := range Reasons {
			if r == ev.Reason {
				c.bypass[i].Add(1)
			}
		}
	}
	c.gate.Add(uint64(ev.GateRejected))
	c.latency.observe(ev.Duration.Seconds())
}

func (c *counters) snapshot(entries int, bytes int64) Stats {
	s := Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), GateRejections: c.gate.Load(), Entries: entries, Bytes: bytes,
		Evictions: c.evicted.Load(), AnswersTooLarge: c.answersTooLarge.Load(),
		BypassesByReason: make(map[Reason]uint64, len(Reasons)),
		HitSimilarity:    c.hitSim.snapshot(), LookupSeconds: c.latency.snapshot(),
	}
	for i, r := range Reasons {
		n := c.bypass[i].Load()
		s.BypassesByReason[r] = n
		s.Bypasses += n
	}
	if s.Hits+s.Misses > 0 {
		s.HitRate = float64(s.Hits) / float64(s.Hits+s.Misses)
	}
	return s
}
