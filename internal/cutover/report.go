package cutover

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cato-gateway/cato/internal/rollout"
)

// Criteria are the runbook's rules the report judges the new side by.
// The zero value is not valid; DefaultCriteria gives the runbook's.
type Criteria struct {
	// MaxErrorRate is the highest error rate of the new side that passes.
	MaxErrorRate float64 `json:"max_error_rate"`
	// MaxP99 is the highest p99 latency of the new side that passes; JSON
	// gives it in milliseconds, as max_p99_ms.
	MaxP99 time.Duration `json:"-"`
	// SatisfactionMargin is how much the new side's share of negative
	// ratings may exceed the legacy side's.
	SatisfactionMargin float64 `json:"satisfaction_margin"`
	// MinRatings is how many ratings each side needs before satisfaction
	// is judged.
	MinRatings uint64 `json:"min_ratings"`
}

// MarshalJSON writes c with MaxP99 in milliseconds, as the figures are.
func (c Criteria) MarshalJSON() ([]byte, error) {
	type plain Criteria
	return json.Marshal(struct {
		plain
		MaxP99Ms float64 `json:"max_p99_ms"`
	}{plain(c), float64(c.MaxP99) / float64(time.Millisecond)})
}

// DefaultCriteria are the runbook's rollback rules: errors above 1%, p99
// above 2 s, and a rise in complaints, read as the new side's negative
// share above the legacy side's by more than 5 points over at least 30
// ratings a side.
func DefaultCriteria() Criteria {
	return Criteria{MaxErrorRate: 0.01, MaxP99: 2 * time.Second, SatisfactionMargin: 0.05, MinRatings: 30}
}

// Result of a Verdict.
const (
	Pass    = "pass"
	Fail    = "fail"
	Unknown = "unknown" // too little evidence to judge
)

// Verdict is one rule judged.
type Verdict struct {
	Name   string `json:"name"`
	Rule   string `json:"rule"`
	Value  string `json:"value"`
	Result string `json:"result"`
}

// Side is one side's merged figures.
type Side struct {
	// Requests and Errors are summed over replicas since their start;
	// ErrorRate is Errors over Requests.
	Requests  uint64  `json:"requests"`
	Errors    uint64  `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
	// WindowRequests sums the replicas' sliding windows (auto-rollback's).
	WindowRequests uint64 `json:"window_requests"`
	// P50Ms and P99Ms are the highest of the replicas' window figures: no
	// replica, and so not the fleet, has more than 1% of its requests
	// slower than P99Ms. Each replica's own are under Replicas.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	// CacheHits and CacheHitRate count answers from Cato's cache.
	CacheHits    uint64  `json:"cache_hits"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	// CostUSD sums the known costs; CostUnknown counts requests whose cost
	// is not known. CostKnown is false when no request's cost is known.
	CostUSD     float64 `json:"cost_usd"`
	CostUnknown uint64  `json:"cost_unknown"`
	CostKnown   bool    `json:"cost_known"`
	// CostPerRequestUSD is CostUSD over the requests with a known cost.
	CostPerRequestUSD float64 `json:"cost_per_request_usd"`
	// Satisfaction is the side's ratings, which every replica reads from the
	// shared store (not summed); nil when there are none.
	Satisfaction *Satisfaction `json:"satisfaction"`
}

// ReplicaFigures are one replica's own figures.
type ReplicaFigures struct {
	URL        string             `json:"url"`
	Version    string             `json:"version"`
	UptimeS    int64              `json:"uptime_s"`
	Percentage float64            `json:"percentage"`
	FlagVer    int64              `json:"flag_version"`
	Sides      map[string]sideLat `json:"sides"`
}

type sideLat struct {
	Requests       uint64  `json:"requests"`
	WindowRequests uint64  `json:"window_requests"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
}

// Shadow merges the replicas' shadow comparisons; means are weighted by
// the pairs each replica compared.
type Shadow struct {
	Sent               uint64  `json:"sent"`
	Dropped            uint64  `json:"dropped"`
	Completed          uint64  `json:"completed"`
	PrimaryErrors      uint64  `json:"primary_errors"`
	ShadowErrors       uint64  `json:"shadow_errors"`
	ErrorMismatch      uint64  `json:"error_mismatch"`
	Compared           uint64  `json:"compared"`
	MeanSimilarity     float64 `json:"mean_similarity"`
	LowSimilarity      uint64  `json:"low_similarity"`
	MeanLatencyDeltaMs float64 `json:"mean_latency_delta_ms"`
	MeanLengthRatio    float64 `json:"mean_length_ratio"`
}

// Report is the cutover evidence of one window.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Current is the flag in force: the newest of the replicas' flags.
	Current rollout.Flag `json:"current"`
	// Consistent is false when replicas run different flag versions.
	Consistent bool             `json:"consistent"`
	Replicas   []ReplicaFigures `json:"replicas"`
	New        Side             `json:"new"`
	Legacy     Side             `json:"legacy"`
	// Shadow is nil when no replica mirrors traffic.
	Shadow *Shadow `json:"shadow"`
	// AutoRollback is the guard's state per replica URL, when enabled.
	AutoRollback map[string]*rollout.GuardStats `json:"auto_rollback,omitempty"`
	// History lists every rollout change the replicas know, oldest first.
	History  []rollout.Flag `json:"history"`
	Criteria Criteria       `json:"criteria"`
	Verdicts []Verdict      `json:"verdicts"`
	// Outcome is pass when every verdict passes, fail when one fails, and
	// unknown otherwise.
	Outcome string `json:"outcome"`
}

// Build merges the replicas' snapshots and judges them by c. Counts are
// summed; latency percentiles are each replica's and their maximum.
func Build(snaps []*Snapshot, c Criteria, now time.Time) *Report {
	r := &Report{GeneratedAt: now.UTC(), Criteria: c, Consistent: true, History: []rollout.Flag{}}
	seen := map[int64]bool{}
	var shadowSim, shadowDelta, shadowLen float64
	var lenN uint64
	for i, s := range snaps {
		st := s.Rollout
		if i == 0 || st.Current.Version > r.Current.Version {
			r.Current = st.Current
		}
		if i > 0 && st.Current.Version != snaps[0].Rollout.Current.Version {
			r.Consistent = false
		}
		rf := ReplicaFigures{URL: s.URL, Version: s.Version, UptimeS: s.UptimeS, Percentage: st.Percentage, FlagVer: st.Current.Version, Sides: map[string]sideLat{}}
		for name, ss := range st.Sides {
			rf.Sides[name] = sideLat{Requests: ss.Requests, WindowRequests: ss.WindowRequests, P50Ms: ss.P50Ms, P99Ms: ss.P99Ms}
		}
		r.Replicas = append(r.Replicas, rf)
		addSide(&r.New, st.Sides["new"], st.Satisfaction, "new")
		addSide(&r.Legacy, st.Sides["legacy"], st.Satisfaction, "legacy")
		if sh := st.Shadow; sh != nil {
			if r.Shadow == nil {
				r.Shadow = &Shadow{}
			}
			m := r.Shadow
			m.Sent += sh.Sent
			m.Dropped += sh.Dropped
			m.Completed += sh.Completed
			m.PrimaryErrors += sh.PrimaryErrors
			m.ShadowErrors += sh.ShadowErrors
			m.ErrorMismatch += sh.ErrorMismatch
			m.Compared += sh.Compared
			m.LowSimilarity += sh.LowSimilarity
			shadowSim += sh.MeanSimilarity * float64(sh.Compared)
			shadowDelta += sh.MeanLatencyDeltaMs * float64(sh.Compared)
			if sh.MeanLengthRatio > 0 {
				shadowLen += sh.MeanLengthRatio * float64(sh.Compared)
				lenN += sh.Compared
			}
		}
		if st.AutoRollback != nil {
			if r.AutoRollback == nil {
				r.AutoRollback = map[string]*rollout.GuardStats{}
			}
			r.AutoRollback[s.URL] = st.AutoRollback
		}
		for _, f := range slices.Concat(s.History, st.History, []rollout.Flag{st.Current}) {
			if f.Version > 0 && !seen[f.Version] {
				seen[f.Version] = true
				r.History = append(r.History, f)
			}
		}
	}
	slices.SortFunc(r.History, func(a, b rollout.Flag) int { return cmp.Compare(a.Version, b.Version) })
	if m := r.Shadow; m != nil && m.Compared > 0 {
		m.MeanSimilarity = shadowSim / float64(m.Compared)
		m.MeanLatencyDeltaMs = shadowDelta / float64(m.Compared)
		if lenN > 0 {
			m.MeanLengthRatio = shadowLen / float64(lenN)
		}
	}
	for _, sd := range []*Side{&r.New, &r.Legacy} {
		if sd.Requests > 0 {
			sd.ErrorRate = float64(sd.Errors) / float64(sd.Requests)
			sd.CacheHitRate = float64(sd.CacheHits) / float64(sd.Requests)
		}
		if known := sd.Requests - min(sd.CostUnknown, sd.Requests); known > 0 {
			sd.CostKnown = true
			sd.CostPerRequestUSD = sd.CostUSD / float64(known)
		}
		if s := sd.Satisfaction; s != nil && s.Ratings > 0 {
			s.NegativeShare = float64(s.Negative) / float64(s.Ratings)
		}
	}
	r.judge()
	return r
}

func addSide(sd *Side, s rollout.SideStats, sat map[string]Satisfaction, name string) {
	sd.Requests += s.Requests
	sd.Errors += s.Errors
	sd.WindowRequests += s.WindowRequests
	sd.P50Ms = max(sd.P50Ms, s.P50Ms)
	sd.P99Ms = max(sd.P99Ms, s.P99Ms)
	sd.CacheHits += s.CacheHits
	sd.CostUSD += s.CostUSD
	sd.CostUnknown += s.CostUnknown
	// Every replica reads the same ratings from the shared store, so they
	// are not summed: the reading with the most ratings (the freshest) is
	// the side's.
	if v, ok := sat[name]; ok && v.Ratings > 0 && (sd.Satisfaction == nil || v.Ratings > sd.Satisfaction.Ratings) {
		sd.Satisfaction = &Satisfaction{Ratings: v.Ratings, Positive: v.Positive, Neutral: v.Neutral, Negative: v.Negative}
	}
}

// judge fills the verdicts and the outcome.
func (r *Report) judge() {
	c, n, l := r.Criteria, r.New, r.Legacy
	v := Verdict{Name: "error rate", Rule: fmt.Sprintf("new side ≤ %s", percent(c.MaxErrorRate))}
	switch {
	case n.Requests == 0:
		v.Value, v.Result = "no requests on the new side", Unknown
	default:
		v.Value = fmt.Sprintf("%s (%d of %d)", percent(n.ErrorRate), n.Errors, n.Requests)
		v.Result = passIf(n.ErrorRate <= c.MaxErrorRate)
	}
	r.Verdicts = append(r.Verdicts, v)

	v = Verdict{Name: "p99 latency", Rule: fmt.Sprintf("new side ≤ %v", c.MaxP99)}
	switch {
	case n.WindowRequests == 0:
		v.Value, v.Result = "no requests in the window", Unknown
	default:
		v.Value = fmt.Sprintf("%.0f ms (highest replica)", n.P99Ms)
		v.Result = passIf(n.P99Ms <= float64(c.MaxP99)/float64(time.Millisecond))
	}
	r.Verdicts = append(r.Verdicts, v)

	v = Verdict{Name: "satisfaction", Rule: fmt.Sprintf("new negative share ≤ legacy + %s, over ≥ %d ratings a side", points(c.SatisfactionMargin), c.MinRatings)}
	switch {
	case n.Satisfaction == nil && l.Satisfaction == nil:
		v.Value, v.Result = "no ratings", Unknown
	case n.Satisfaction == nil || l.Satisfaction == nil || n.Satisfaction.Ratings < c.MinRatings || l.Satisfaction.Ratings < c.MinRatings:
		v.Value, v.Result = fmt.Sprintf("too few ratings (new %d, legacy %d)", ratings(n.Satisfaction), ratings(l.Satisfaction)), Unknown
	default:
		d := n.Satisfaction.NegativeShare - l.Satisfaction.NegativeShare
		v.Value = fmt.Sprintf("new %s, legacy %s negative (%+.1f points)", percent(n.Satisfaction.NegativeShare), percent(l.Satisfaction.NegativeShare), 100*d)
		v.Result = passIf(d <= c.SatisfactionMargin)
	}
	r.Verdicts = append(r.Verdicts, v)

	r.Outcome = Pass
	for _, v := range r.Verdicts {
		switch {
		case v.Result == Fail:
			r.Outcome = Fail
		case v.Result == Unknown && r.Outcome == Pass:
			r.Outcome = Unknown
		}
	}
}

func ratings(s *Satisfaction) uint64 {
	if s == nil {
		return 0
	}
	return s.Ratings
}

func passIf(ok bool) string {
	if ok {
		return Pass
	}
	return Fail
}

func percent(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

func points(f float64) string { return fmt.Sprintf("%.1f points", 100*f) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
