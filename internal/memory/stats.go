package memory

import (
	"sync"
	"sync/atomic"
	"time"
)

// counters are Memory's counts, read by Status. Hot-path ones are plain
// atomics; labelled ones are created on first use.
type counters struct {
	recorded, dropped, skipped, enqueued, lost, submitted atomic.Int64

	consolidations labelled // ok, duplicate, forgotten, invalid, retry
	conflicts      atomic.Int64
	extractions    labelled // extractor/outcome
	judgements     labelled // judge/verdict, judge/error
	facts          labelled // new, merged, superseded
	recalls        labelled // added, none, error
}

// labelled is a set of counters by label. The zero value is ready; it is
// safe for concurrent use.
type labelled struct {
	m sync.Map // label → *atomic.Int64
}

func (l *labelled) add(label string, n int64) {
	c, ok := l.m.Load(label)
	if !ok {
		c, _ = l.m.LoadOrStore(label, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(n)
}

func (l *labelled) snapshot() map[string]int64 {
	out := map[string]int64{}
	l.m.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// Status describes long-term memory for /status and /metrics. Counts are
// since start.
type Status struct {
	// Queue is the durable queue as last read (every two seconds, and by
	// RefreshQueueStats).
	Queue QueueStatus `json:"queue"`
	// EpisodeSearch is how episodes are searched: hnsw (in process),
	// pgvector_hnsw or exact_scan.
	EpisodeSearch string `json:"episode_search"`
	// Extractor and Judge name the extractor and the judge in use.
	Extractor string `json:"extractor"`
	Judge     string `json:"judge"`
	// Recorded interactions were taken on the request path; Dropped were
	// not (buffer full); Skipped had memory off or no valid key; Enqueued
	// reached the queue; Lost could not be written at shutdown; Submitted
	// came through the API.
	Recorded  int64 `json:"recorded"`
	Dropped   int64 `json:"dropped"`
	Skipped   int64 `json:"skipped"`
	Enqueued  int64 `json:"enqueued"`
	Lost      int64 `json:"lost"`
	Submitted int64 `json:"submitted"`
	// Consolidations count deliveries by outcome: ok, duplicate (already
	// consolidated: a redelivery), forgotten, invalid, retry (left for
	// redelivery); Conflicts counts changes replanned because another
	// worker changed the user's memory first.
	Consolidations map[string]int64 `json:"consolidations"`
	Conflicts      int64            `json:"conflicts"`
	// Extractions count by extractor and outcome ("rules/facts",
	// "model/malformed"…); Judgements by judge and verdict; Facts by what
	// happened to new facts (new, merged, superseded: an older one
	// replaced; stale: the new one was older than a contradicting one);
	// Recalls by outcome (added, none, error).
	Extractions map[string]int64 `json:"extractions"`
	Judgements  map[string]int64 `json:"judgements"`
	Facts       map[string]int64 `json:"facts"`
	Recalls     map[string]int64 `json:"recalls"`
}

// QueueStatus is the queue part of Status.
type QueueStatus struct {
	Depth    int64 `json:"depth"`
	InFlight int64 `json:"in_flight"`
	// LagSeconds is the age of the oldest interaction waiting, zero when
	// the queue is empty.
	LagSeconds float64 `json:"lag_s"`
}

// Status returns the current counts.
func (m *Memory) Status() Status {
	q := m.queueStats.Load()
	st := Status{
		Queue:         QueueStatus{Depth: q.Depth, InFlight: q.InFlight},
		EpisodeSearch: m.opt.Store.EpisodeSearch(),
		Extractor:     m.opt.Extractor.Name(),
		Judge:         m.opt.Judge.Name(),
		Recorded:      m.stats.recorded.Load(), Dropped: m.stats.dropped.Load(), Skipped: m.stats.skipped.Load(),
		Enqueued: m.stats.enqueued.Load(), Lost: m.stats.lost.Load(), Submitted: m.stats.submitted.Load(),
		Consolidations: m.stats.consolidations.snapshot(), Conflicts: m.stats.conflicts.Load(),
		Extractions: m.stats.extractions.snapshot(), Judgements: m.stats.judgements.snapshot(),
		Facts: m.stats.facts.snapshot(), Recalls: m.stats.recalls.snapshot(),
	}
	if !q.Oldest.IsZero() {
		st.Queue.LagSeconds = max(0, m.opt.Now().Sub(q.Oldest).Seconds())
	}
	return st
}

// RecallEvent describes one recall, for metrics.
type RecallEvent struct {
	Duration time.Duration
	// Outcome is added, none or error.
	Outcome  string
	Facts    int
	Episodes int
}
