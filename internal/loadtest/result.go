package loadtest

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Plan is what a run was asked to do, as the report shows it.
type Plan struct {
	URL         string        `json:"url"`
	Workload    string        `json:"workload"`
	Endpoint    string        `json:"endpoint"`
	Mode        string        `json:"mode"` // ModeOpen or ModeClosed
	Rate        float64       `json:"rate,omitempty"`
	Concurrency int           `json:"concurrency,omitempty"`
	Duration    time.Duration `json:"duration"`
	Ramp        time.Duration `json:"ramp,omitempty"`
	MaxRequests int64         `json:"max_requests,omitempty"`
	MaxInFlight int           `json:"max_in_flight,omitempty"`
	Protocol    string        `json:"protocol"` // "http/1.1" or "h2c"
	Conns       int           `json:"conns,omitempty"`
	SourceAddrs int           `json:"source_addrs,omitempty"`
	Workers     int           `json:"workers,omitempty"`
}

// Cache outcomes as counted in Result.Cache. Hit, miss and bypass are the
// values of Cato's X-Cato-Cache header; unknown is a success that said
// nothing (not Cato, or Cato without its headers); other is any other value.
const (
	cacheHit     = "hit"
	cacheMiss    = "miss"
	cacheBypass  = "bypass"
	cacheUnknown = "unknown"
	cacheOther   = "other"
)

// maxGroups caps the number of distinct models or sides counted, so that an
// endpoint sending a new name with every answer cannot grow the result
// without bound; the rest are counted under groupOther.
const (
	maxGroups  = 64
	groupNone  = "(none)"
	groupOther = "(other)"
)

// Result holds the raw measurements of a run, or of several worker processes
// merged. Its invariants: Sent = OK + Failed, the values of Errors add up to
// Failed, the values of Cache add up to OK, and Latency counts OK. It is
// not safe for concurrent use; Run returns it once the run is over.
type Result struct {
	Plan        Plan      `json:"plan"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Interrupted bool      `json:"interrupted,omitempty"`

	Sent   int64            `json:"sent"`
	OK     int64            `json:"ok"`
	Failed int64            `json:"failed"`
	Errors map[string]int64 `json:"errors"` // by kind, see classify
	Status map[int]int64    `json:"status"` // every HTTP response, by status code
	Cache  map[string]int64 `json:"cache"`  // successes by cache outcome

	// Latency is the time from a request's intended start to the end of
	// its answer, for successes. In open loop the intended start is the
	// schedule, so a generator that falls behind shows up here.
	Latency *Histogram `json:"latency"`
	// Service is the time from actually sending to the end, for successes.
	Service *Histogram `json:"service"`
	// Lag is how late requests were sent after their intended start.
	Lag *Histogram `json:"lag"`
	// Streams counts successful streamed answers; TTFB is the time from
	// their intended start to the first chunk, and InterChunk the gaps
	// between chunks.
	Streams    int64      `json:"streams"`
	TTFB       *Histogram `json:"ttfb"`
	InterChunk *Histogram `json:"inter_chunk"`

	// Models and Sides split responses by X-Cato-Model (or the body's
	// model) and X-Cato-Side.
	Models map[string]*Group `json:"models"`
	Sides  map[string]*Group `json:"sides"`

	// Timeline has one bucket per BucketWidth from Start.
	BucketWidth time.Duration `json:"bucket_width"`
	Timeline    []*Bucket     `json:"timeline"`

	Warnings []string `json:"warnings,omitempty"`
}

// Group counts the responses attributed to one model or rollout side.
type Group struct {
	OK      int64      `json:"ok"`
	Failed  int64      `json:"failed"` // HTTP error responses naming the group
	Hit     int64      `json:"hit"`
	Miss    int64      `json:"miss"`
	Bypass  int64      `json:"bypass"`
	Latency *Histogram `json:"latency"` // of the successes
}

// Bucket is one interval of the timeline. Requests are counted in the
// bucket of their intended start, except Done, which counts completions by
// the time they completed.
type Bucket struct {
	Sent        int64      `json:"sent"`
	OK          int64      `json:"ok"`
	Failed      int64      `json:"failed"`
	Done        int64      `json:"done"`
	MaxInFlight int64      `json:"max_in_flight"`
	Latency     *Histogram `json:"latency"` // of the successes
}

func newResult(plan Plan, start time.Time, width time.Duration) *Result {
	return &Result{
		Plan:        plan,
		Start:       start,
		Errors:      map[string]int64{},
		Status:      map[int]int64{},
		Cache:       map[string]int64{},
		Latency:     newHistogram(fineFigures),
		Service:     newHistogram(fineFigures),
		Lag:         newHistogram(fineFigures),
		TTFB:        newHistogram(fineFigures),
		InterChunk:  newHistogram(fineFigures),
		Models:      map[string]*Group{},
		Sides:       map[string]*Group{},
		BucketWidth: width,
	}
}

func newGroup() *Group { return &Group{Latency: newHistogram(coarseFigures)} }

func newBucket() *Bucket { return &Bucket{Latency: newHistogram(coarseFigures)} }

// sample is the measurement of one request.
type sample struct {
	intended time.Time // when it was due
	sent     time.Time // when it was handed to the transport
	end      time.Time // when the answer ended or the request failed

	status  int    // HTTP status; 0 without a response
	errKind string // empty on success

	cache string // X-Cato-Cache or the body's cached flag; empty if neither
	model string
	side  string

	stream bool
	ttfb   time.Duration   // from intended to the first chunk
	gaps   []time.Duration // between chunks
}

// maxTimeline bounds the timeline's length whatever the clock does.
const maxTimeline = 100_000

// bucketLocked returns the timeline bucket of t, growing the timeline.
func (r *Result) bucketLocked(t time.Time) *Bucket {
	i := 0
	if d := t.Sub(r.Start); d > 0 && r.BucketWidth > 0 {
		i = min(int(d/r.BucketWidth), maxTimeline-1)
	}
	for len(r.Timeline) <= i {
		r.Timeline = append(r.Timeline, newBucket())
	}
	return r.Timeline[i]
}

// group returns the group named name in m, creating it, within maxGroups.
func group(m map[string]*Group, name string) *Group {
	if name == "" {
		name = groupNone
	}
	g := m[name]
	if g == nil {
		if len(m) >= maxGroups {
			name = groupOther
			if g = m[name]; g != nil {
				return g
			}
		}
		g = newGroup()
		m[name] = g
	}
	return g
}

// normCache maps a cache outcome as received to one of the cache* names.
func normCache(v string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case cacheHit, cacheMiss, cacheBypass:
		return v
	case "":
		return cacheUnknown
	}
	return cacheOther
}

// add records one finished request.
func (r *Result) add(s *sample) {
	r.Sent++
	b := r.bucketLocked(s.intended)
	b.Sent++
	r.bucketLocked(s.end).Done++
	if s.status != 0 {
		r.Status[s.status]++
	}
	if lag := s.sent.Sub(s.intended); !s.sent.IsZero() && lag >= 0 {
		r.Lag.Record(lag)
	}
	var groups []*Group
	if s.model != "" || s.status != 0 {
		groups = append(groups, group(r.Models, s.model))
	}
	if s.side != "" {
		groups = append(groups, group(r.Sides, s.side))
	}
	if s.errKind != "" {
		r.Failed++
		b.Failed++
		r.Errors[s.errKind]++
		if s.status != 0 {
			for _, g := range groups {
				g.Failed++
			}
		}
		return
	}
	r.OK++
	b.OK++
	lat := s.end.Sub(s.intended)
	r.Latency.Record(lat)
	b.Latency.Record(lat)
	r.Service.Record(s.end.Sub(s.sent))
	cache := normCache(s.cache)
	r.Cache[cache]++
	for _, g := range groups {
		g.OK++
		g.Latency.Record(lat)
		switch cache {
		case cacheHit:
			g.Hit++
		case cacheMiss:
			g.Miss++
		case cacheBypass:
			g.Bypass++
		}
	}
	if s.stream {
		r.Streams++
		r.TTFB.Record(s.ttfb)
		for _, g := range s.gaps {
			r.InterChunk.Record(g)
		}
	}
}

// Merge adds other's measurements to r: counts add, histograms merge,
// timelines add bucket by bucket from each one's start, and the run spans
// from the earliest start to the latest end. The plan is r's.
func (r *Result) Merge(other *Result) {
	if other.Start.Before(r.Start) || r.Start.IsZero() {
		r.Start = other.Start
	}
	if other.End.After(r.End) {
		r.End = other.End
	}
	r.Interrupted = r.Interrupted || other.Interrupted
	r.Sent += other.Sent
	r.OK += other.OK
	r.Failed += other.Failed
	addCounts(r.Errors, other.Errors)
	addCounts(r.Status, other.Status)
	addCounts(r.Cache, other.Cache)
	r.Latency.Merge(other.Latency)
	r.Service.Merge(other.Service)
	r.Lag.Merge(other.Lag)
	r.Streams += other.Streams
	r.TTFB.Merge(other.TTFB)
	r.InterChunk.Merge(other.InterChunk)
	mergeGroups(r.Models, other.Models)
	mergeGroups(r.Sides, other.Sides)
	for i, ob := range other.Timeline {
		for len(r.Timeline) <= i {
			r.Timeline = append(r.Timeline, newBucket())
		}
		b := r.Timeline[i]
		b.Sent += ob.Sent
		b.OK += ob.OK
		b.Failed += ob.Failed
		b.Done += ob.Done
		b.MaxInFlight += ob.MaxInFlight // workers run side by side
		b.Latency.Merge(ob.Latency)
	}
	for _, w := range other.Warnings {
		if !slices.Contains(r.Warnings, w) {
			r.Warnings = append(r.Warnings, w)
		}
	}
}

func addCounts[K comparable](dst, src map[K]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

func mergeGroups(dst, src map[string]*Group) {
	for name, og := range src {
		g := group(dst, name)
		g.OK += og.OK
		g.Failed += og.Failed
		g.Hit += og.Hit
		g.Miss += og.Miss
		g.Bypass += og.Bypass
		g.Latency.Merge(og.Latency)
	}
}

// Progress is a snapshot of a run in progress.
type Progress struct {
	Elapsed  time.Duration `json:"elapsed"`
	Sent     int64         `json:"sent"` // started, finished or not
	Done     int64         `json:"done"`
	Failed   int64         `json:"failed"`
	InFlight int64         `json:"in_flight"`
	P99      time.Duration `json:"p99"` // of the successes so far
}

// recorder collects samples from concurrent requests into a Result.
// It is safe for concurrent use.
type recorder struct {
	mu       sync.Mutex // guards res and inFlight
	res      *Result
	inFlight int64
}

func newRecorder(plan Plan, start time.Time, width time.Duration) *recorder {
	return &recorder{res: newResult(plan, start, width)}
}

// begin counts a request as in flight; intended is when it was due.
func (rec *recorder) begin(intended time.Time) {
	rec.mu.Lock()
	rec.inFlight++
	b := rec.res.bucketLocked(intended)
	b.MaxInFlight = max(b.MaxInFlight, rec.inFlight)
	rec.mu.Unlock()
}

// end records a request that begin counted.
func (rec *recorder) end(s *sample) {
	rec.mu.Lock()
	rec.inFlight--
	rec.res.add(s)
	rec.mu.Unlock()
}

// progress returns a snapshot at now.
func (rec *recorder) progress(now time.Time) Progress {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := rec.res
	return Progress{
		Elapsed:  now.Sub(r.Start),
		Sent:     r.Sent + rec.inFlight,
		Done:     r.Sent,
		Failed:   r.Failed,
		InFlight: rec.inFlight,
		P99:      r.Latency.Quantile(99),
	}
}

// finish closes the run at end and returns its result. The recorder must
// not be used afterwards.
func (rec *recorder) finish(end time.Time) *Result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.res.End = end
	return rec.res
}
