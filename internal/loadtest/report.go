package loadtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the summary of a Result that people read: as text, JSON or
// HTML. Durations are in milliseconds, rates per second.
type Report struct {
	Plan        ReportPlan `json:"plan"`
	Start       time.Time  `json:"start"`
	ElapsedS    float64    `json:"elapsed_s"`
	Interrupted bool       `json:"interrupted"`

	Sent        int64   `json:"sent"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	SuccessRate float64 `json:"success_rate"`   // OK / Sent
	Throughput  float64 `json:"throughput_rps"` // finished requests per second
	Goodput     float64 `json:"ok_rps"`         // successes per second

	Latency    Summary `json:"latency_ms"`      // intended start to end, successes
	Service    Summary `json:"service_ms"`      // sent to end, successes
	Lag        Summary `json:"schedule_lag_ms"` // intended start to sent, all
	Streams    int64   `json:"streams"`
	TTFB       Summary `json:"ttfb_ms"`        // streams: intended start to first chunk
	InterChunk Summary `json:"inter_chunk_ms"` // streams: between chunks

	Errors []Count       `json:"errors"` // by kind, most first
	Status []StatusCount `json:"status"`
	Cache  CacheReport   `json:"cache"`
	Models []GroupReport `json:"models"` // most requests first
	Sides  []GroupReport `json:"sides"`

	Timeline    []Point           `json:"timeline"`
	Histogram   []Bin             `json:"histogram"`   // latency, log-spaced bins
	Percentiles []PercentilePoint `json:"percentiles"` // latency spectrum
	Warnings    []string          `json:"warnings,omitempty"`
}

// ReportPlan is Plan with durations as text ("30s").
type ReportPlan struct {
	URL         string  `json:"url"`
	Workload    string  `json:"workload"`
	Endpoint    string  `json:"endpoint"`
	Mode        string  `json:"mode"`
	Rate        float64 `json:"rate,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Duration    string  `json:"duration"`
	Ramp        string  `json:"ramp,omitempty"`
	MaxRequests int64   `json:"max_requests,omitempty"`
	MaxInFlight int     `json:"max_in_flight,omitempty"`
	Protocol    string  `json:"protocol"`
	Conns       int     `json:"conns,omitempty"`
	SourceAddrs int     `json:"source_addrs,omitempty"`
	Workers     int     `json:"workers,omitempty"`
}

// Summary describes a latency distribution in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// Count is a number of errors of one kind.
type Count struct {
	Kind  string `json:"kind"`
	Count int64  `json:"count"`
}

// StatusCount is a number of responses with one HTTP status.
type StatusCount struct {
	Status int   `json:"status"`
	Count  int64 `json:"count"`
}

// CacheReport counts successes by cache outcome. HitRate is
// Hit / (Hit + Miss), as Cato's status endpoint computes it; NaN-free: 0
// when there were neither.
type CacheReport struct {
	Hit     int64   `json:"hit"`
	Miss    int64   `json:"miss"`
	Bypass  int64   `json:"bypass"`
	Other   int64   `json:"other"`   // a value Cato does not send
	Unknown int64   `json:"unknown"` // no header and nothing in the body
	HitRate float64 `json:"hit_rate"`
}

// GroupReport is one model or rollout side.
type GroupReport struct {
	Name    string  `json:"name"`
	OK      int64   `json:"ok"`
	Failed  int64   `json:"failed"`
	Share   float64 `json:"share"` // of the successes
	Hit     int64   `json:"hit"`
	Miss    int64   `json:"miss"`
	Bypass  int64   `json:"bypass"`
	HitRate float64 `json:"hit_rate"`
	Latency Summary `json:"latency_ms"`
}

// Point is one timeline bucket.
type Point struct {
	T           float64 `json:"t_s"` // bucket start, seconds from the run's start
	Sent        int64   `json:"sent"`
	OK          int64   `json:"ok"`
	Failed      int64   `json:"failed"`
	Rate        float64 `json:"done_rps"` // completions per second
	MaxInFlight int64   `json:"max_in_flight"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
}

// Bin is one bar of the latency histogram: Count successes took between
// From and To milliseconds.
type Bin struct {
	From  float64 `json:"from_ms"`
	To    float64 `json:"to_ms"`
	Count int64   `json:"count"`
}

// PercentilePoint is one point of the latency spectrum.
type PercentilePoint struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}

// NewReport summarises res.
func NewReport(res *Result) *Report {
	elapsed := res.End.Sub(res.Start).Seconds()
	rep := &Report{
		Plan:        reportPlan(res.Plan),
		Start:       res.Start,
		ElapsedS:    elapsed,
		Interrupted: res.Interrupted,
		Sent:        res.Sent,
		OK:          res.OK,
		Failed:      res.Failed,
		SuccessRate: ratio(res.OK, res.Sent),
		Latency:     summarize(res.Latency),
		Service:     summarize(res.Service),
		Lag:         summarize(res.Lag),
		Streams:     res.Streams,
		TTFB:        summarize(res.TTFB),
		InterChunk:  summarize(res.InterChunk),
		Warnings:    res.Warnings,
	}
	if elapsed > 0 {
		rep.Throughput = float64(res.Sent) / elapsed
		rep.Goodput = float64(res.OK) / elapsed
	}
	for kind, n := range res.Errors {
		rep.Errors = append(rep.Errors, Count{Kind: kind, Count: n})
	}
	slices.SortFunc(rep.Errors, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Kind, b.Kind))
	})
	for code, n := range res.Status {
		rep.Status = append(rep.Status, StatusCount{Status: code, Count: n})
	}
	slices.SortFunc(rep.Status, func(a, b StatusCount) int { return cmp.Compare(a.Status, b.Status) })
	c := res.Cache
	rep.Cache = CacheReport{
		Hit: c[cacheHit], Miss: c[cacheMiss], Bypass: c[cacheBypass], Other: c[cacheOther], Unknown: c[cacheUnknown],
		HitRate: ratio(c[cacheHit], c[cacheHit]+c[cacheMiss]),
	}
	rep.Models = groupReports(res.Models, res.OK)
	rep.Sides = groupReports(res.Sides, res.OK)
	width := res.BucketWidth.Seconds()
	for i, b := range res.Timeline {
		p := Point{T: float64(i) * width, Sent: b.Sent, OK: b.OK, Failed: b.Failed, MaxInFlight: b.MaxInFlight}
		if width > 0 {
			p.Rate = float64(b.Done) / width
		}
		if b.Latency.Count() > 0 {
			p.P50, p.P90, p.P99, p.Max = ms(b.Latency.Quantile(50)), ms(b.Latency.Quantile(90)), ms(b.Latency.Quantile(99)), ms(b.Latency.Max())
		}
		rep.Timeline = append(rep.Timeline, p)
	}
	rep.Histogram = logBins(res.Latency, 48)
	rep.Percentiles = spectrum(res.Latency)
	return rep
}

func reportPlan(p Plan) ReportPlan {
	rp := ReportPlan{
		URL: p.URL, Workload: p.Workload, Endpoint: p.Endpoint, Mode: p.Mode, Rate: p.Rate,
		Concurrency: p.Concurrency, Duration: p.Duration.String(), MaxRequests: p.MaxRequests,
		MaxInFlight: p.MaxInFlight, Protocol: p.Protocol, Conns: p.Conns, SourceAddrs: p.SourceAddrs, Workers: p.Workers,
	}
	if p.Ramp > 0 {
		rp.Ramp = p.Ramp.String()
	}
	return rp
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func summarize(h *Histogram) Summary {
	if h == nil || h.Count() == 0 {
		return Summary{}
	}
	return Summary{
		Count: h.Count(),
		Min:   ms(h.Min()),
		Mean:  ms(h.Mean()),
		P50:   ms(h.Quantile(50)),
		P90:   ms(h.Quantile(90)),
		P99:   ms(h.Quantile(99)),
		P999:  ms(h.Quantile(99.9)),
		Max:   ms(h.Max()),
	}
}

func groupReports(m map[string]*Group, ok int64) []GroupReport {
	var out []GroupReport
	for name, g := range m {
		out = append(out, GroupReport{
			Name: name, OK: g.OK, Failed: g.Failed, Share: ratio(g.OK, ok),
			Hit: g.Hit, Miss: g.Miss, Bypass: g.Bypass, HitRate: ratio(g.Hit, g.Hit+g.Miss),
			Latency: summarize(g.Latency),
		})
	}
	slices.SortFunc(out, func(a, b GroupReport) int {
		return cmp.Or(cmp.Compare(b.OK+b.Failed, a.OK+a.Failed), strings.Compare(a.Name, b.Name))
	})
	return out
}

// logBins groups h's values into at most n bins of equal width on a log
// scale between its smallest and largest value.
func logBins(h *Histogram, n int) []Bin {
	bars := h.bars()
	if len(bars) == 0 {
		return nil
	}
	lo := math.Log(float64(max(bars[0].From, 1)))
	hi := math.Log(float64(bars[len(bars)-1].To + 1))
	if hi-lo < 1e-9 {
		hi = lo + math.Log(2)
	}
	step := (hi - lo) / float64(n)
	bins := make([]Bin, n)
	for i := range bins {
		bins[i] = Bin{From: math.Exp(lo+step*float64(i)) / 1000, To: math.Exp(lo+step*float64(i+1)) / 1000}
	}
	for _, b := range bars {
		mid := (float64(b.From) + float64(b.To)) / 2
		i := int((math.Log(max(mid, 1)) - lo) / step)
		bins[min(max(i, 0), n-1)].Count += b.Count
	}
	return bins
}

// spectrumPercentiles are the points of the latency spectrum, denser
// towards the tail.
var spectrumPercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99,
	99.25, 99.5, 99.75, 99.9, 99.925, 99.95, 99.975, 99.99, 99.995, 99.999, 99.9995, 99.9999, 100}

// spectrum returns latency by percentile, as far into the tail as the
// number of samples says something.
func spectrum(h *Histogram) []PercentilePoint {
	n := h.Count()
	if n == 0 {
		return nil
	}
	var out []PercentilePoint
	for _, p := range spectrumPercentiles {
		if p < 100 && p > 0 && float64(n)*(100-p)/100 < 1 {
			continue // fewer than one sample beyond p: the max says it
		}
		out = append(out, PercentilePoint{Percentile: p, Ms: ms(h.Quantile(p))})
	}
	return out
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing JSON report: %w", err)
	}
	return nil
}

// Title is one line saying what was run.
func (r *Report) Title() string {
	p := r.Plan
	load := fmt.Sprintf("%d users (closed loop)", p.Concurrency)
	if p.Mode == ModeOpen {
		load = fmt.Sprintf("%s req/s (open loop)", trimFloat(p.Rate))
	}
	proto := p.Protocol
	if p.Protocol == "h2c" {
		proto += fmt.Sprintf(", %d conns", p.Conns)
	} else if p.SourceAddrs > 1 {
		proto += fmt.Sprintf(", %d source addresses", p.SourceAddrs)
	}
	if p.Workers > 1 {
		proto += fmt.Sprintf(", %d workers", p.Workers)
	}
	return fmt.Sprintf("%s, workload %s (%s), %s, %s", p.URL, p.Workload, p.Endpoint, load, proto)
}

func trimFloat(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.2f", v), ".00") }

// WriteText writes r for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	pf := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	pf("Load test: %s\n", r.Title())
	status := "completed"
	if r.Interrupted {
		status = "interrupted"
	}
	pf("Ran %.1fs (%s; planned %s", r.ElapsedS, status, r.Plan.Duration)
	if r.Plan.Ramp != "" {
		pf(", ramp %s", r.Plan.Ramp)
	}
	if r.Plan.MaxRequests > 0 {
		pf(", at most %s requests", count(r.Plan.MaxRequests))
	}
	pf(")\n\n")
	pf("Requests    %s sent, %s ok (%.2f%%), %s failed\n", count(r.Sent), count(r.OK), 100*r.SuccessRate, count(r.Failed))
	pf("Throughput  %.1f req/s finished, %.1f req/s ok\n\n", r.Throughput, r.Goodput)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\tcount\tp50\tp90\tp99\tp99.9\tmax\tmean\t\n")
	row := func(name string, s Summary) {
		if s.Count == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, count(s.Count),
			fmtMs(s.P50), fmtMs(s.P90), fmtMs(s.P99), fmtMs(s.P999), fmtMs(s.Max), fmtMs(s.Mean))
	}
	row("latency", r.Latency)
	row("service time", r.Service)
	if r.Plan.Mode == ModeOpen {
		row("schedule lag", r.Lag)
	}
	row("stream TTFB", r.TTFB)
	row("inter-chunk", r.InterChunk)
	_ = tw.Flush()
	pf("(latency: from the intended start to the end of the answer, successes only)\n")

	if len(r.Errors) > 0 {
		pf("\nErrors\n")
		for _, e := range r.Errors {
			pf("  %-18s %10s  %6.2f%%\n", e.Kind, count(e.Count), 100*ratio(e.Count, r.Sent))
		}
	}
	c := r.Cache
	pf("\nCache       ")
	if c.Hit+c.Miss+c.Bypass+c.Other == 0 {
		pf("no outcome reported (no X-Cato-Cache header or cato.cached)\n")
	} else {
		pf("hit rate %.1f%% (hit %s, miss %s, bypass %s", 100*c.HitRate, count(c.Hit), count(c.Miss), count(c.Bypass))
		if c.Other > 0 {
			pf(", other %s", count(c.Other))
		}
		if c.Unknown > 0 {
			pf(", not reported %s", count(c.Unknown))
		}
		pf(")\n")
	}
	groups := func(title string, gs []GroupReport) {
		if len(gs) == 0 || (len(gs) == 1 && gs[0].Name == groupNone) {
			return
		}
		pf("\n%s\n", title)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\tok\tfailed\tshare\thit rate\tp50\tp99\t\n")
		for _, g := range gs {
			hitRate := "–"
			if g.Hit+g.Miss > 0 {
				hitRate = fmt.Sprintf("%.1f%%", 100*g.HitRate)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%s\t%s\t%s\t\n", g.Name, count(g.OK), count(g.Failed),
				100*g.Share, hitRate, fmtMs(g.Latency.P50), fmtMs(g.Latency.P99))
		}
		_ = tw.Flush()
	}
	groups("By model", r.Models)
	groups("By rollout side", r.Sides)
	for _, w := range r.Warnings {
		pf("\nwarning: %s", w)
	}
	if len(r.Warnings) > 0 {
		pf("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtMs formats milliseconds as fmtDuration does.
func fmtMs(v float64) string { return fmtDuration(time.Duration(v * float64(time.Millisecond))) }
