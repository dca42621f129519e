package cutover

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"
)

//go:embed report.html.tmpl
var reportTemplate string

// Colours of the two sides, the same in every chart; the palette is the
// load-test report's.
const (
	colNew    = "#2563eb"
	colLegacy = "#94a3b8"
	colStep   = "#ea580c"
)

var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":     percent,
	"num":     pct,
	"date":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"cost":    costText,
	"ms":      msText,
	"upper":   func(s string) string { return map[string]string{Pass: "PASS", Fail: "FAIL", Unknown: "UNKNOWN"}[s] },
	"badge":   func(s string) string { return map[string]string{Pass: "ok", Fail: "bad", Unknown: "warn"}[s] },
	"f3":      func(f float64) string { return fmt.Sprintf("%.3f", f) },
	"signed0": func(f float64) string { return fmt.Sprintf("%+.0f", f) },
	"f2":      func(f float64) string { return fmt.Sprintf("%.2f", f) },
	"slice2":  func(a, b Side) []Side { return []Side{a, b} },
}).Parse(reportTemplate))

// htmlPage is what the template draws.
type htmlPage struct {
	*Report
	Latency  *barChart
	Timeline *stepChart
	ColNew   string
	ColOld   string
}

// WriteHTML writes r as a self-contained HTML page: figures, tables and
// inline SVG charts, with no script and nothing fetched from elsewhere.
func (r *Report) WriteHTML(w io.Writer) error {
	return reportHTML.Execute(w, htmlPage{Report: r, Latency: latencyChart(r), Timeline: timeline(r), ColNew: colNew, ColOld: colLegacy})
}

// barChart is a grouped bar chart: per group (a replica's percentile), one
// bar per side.
type barChart struct {
	W, H   int
	Bars   []bar
	Labels []label
	Grid   []label
	Limit  *label // the p99 rule's line
}

type bar struct {
	X, Y, W, H float64
	Color      string
	Title      string
}

type label struct {
	X, Y float64
	Text string
}

// latencyChart draws p50 and p99 of each side, per replica and for the
// merged figure, against the p99 rule.
func latencyChart(r *Report) *barChart {
	type group struct {
		name       string
		new, old   float64
		hasN, hasO bool
	}
	var groups []group
	add := func(name string, n, o sideLat) {
		groups = append(groups, group{name + " p50", n.P50Ms, o.P50Ms, n.WindowRequests > 0, o.WindowRequests > 0},
			group{name + " p99", n.P99Ms, o.P99Ms, n.WindowRequests > 0, o.WindowRequests > 0})
	}
	if len(r.Replicas) > 1 {
		for i, rf := range r.Replicas {
			add(fmt.Sprintf("replica %d", i+1), rf.Sides["new"], rf.Sides["legacy"])
		}
	}
	add("all", sideLat{P50Ms: r.New.P50Ms, P99Ms: r.New.P99Ms, WindowRequests: r.New.WindowRequests},
		sideLat{P50Ms: r.Legacy.P50Ms, P99Ms: r.Legacy.P99Ms, WindowRequests: r.Legacy.WindowRequests})
	limit := float64(r.Criteria.MaxP99) / float64(time.Millisecond)
	top := limit
	for _, g := range groups {
		top = max(top, g.new, g.old)
	}
	top = niceCeil(top * 1.1)
	c := &barChart{W: 960, H: 260}
	const left, right, upper, lower = 56.0, 12.0, 12.0, 36.0
	plotW, plotH := float64(c.W)-left-right, float64(c.H)-upper-lower
	y := func(v float64) float64 { return upper + plotH*(1-v/top) }
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		c.Grid = append(c.Grid, label{X: left, Y: y(v), Text: fmt.Sprintf("%.0f ms", v)})
	}
	slot := plotW / float64(len(groups))
	bw := math.Min(28, slot/3)
	for i, g := range groups {
		x0 := left + slot*float64(i) + slot/2
		for j, s := range []struct {
			v   float64
			has bool
			col string
			nm  string
		}{{g.new, g.hasN, colNew, "new"}, {g.old, g.hasO, colLegacy, "legacy"}} {
			if !s.has {
				continue
			}
			x := x0 - bw + float64(j)*bw
			c.Bars = append(c.Bars, bar{X: x, Y: y(s.v), W: bw - 2, H: y(0) - y(s.v), Color: s.col, Title: fmt.Sprintf("%s %s: %.0f ms", g.name, s.nm, s.v)})
		}
		c.Labels = append(c.Labels, label{X: x0, Y: float64(c.H) - lower + 16, Text: g.name})
	}
	if limit > 0 {
		c.Limit = &label{X: left, Y: y(limit), Text: fmt.Sprintf("p99 rule %.0f ms", limit)}
	}
	return c
}

// stepChart draws the rollout percentage over the history of changes.
type stepChart struct {
	W, H   int
	Path   string
	Points []bar
	Grid   []label
	Ticks  []label
}

func timeline(r *Report) *stepChart {
	if len(r.History) == 0 {
		return nil
	}
	c := &stepChart{W: 960, H: 200}
	const left, right, upper, lower = 56.0, 16.0, 12.0, 30.0
	plotW, plotH := float64(c.W)-left-right, float64(c.H)-upper-lower
	start, end := r.History[0].At, r.GeneratedAt
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	span := float64(end.Sub(start))
	x := func(t time.Time) float64 { return left + plotW*float64(t.Sub(start))/span }
	y := func(p float64) float64 { return upper + plotH*(1-p/100) }
	for _, p := range []float64{0, 25, 50, 75, 100} {
		c.Grid = append(c.Grid, label{X: left, Y: y(p), Text: fmt.Sprintf("%.0f%%", p)})
	}
	path := ""
	for i, f := range r.History {
		px, py := x(f.At), y(f.Percentage)
		if i == 0 {
			path = fmt.Sprintf("M%.1f %.1f", px, py)
		} else {
			path += fmt.Sprintf(" H%.1f V%.1f", px, py)
		}
		who := f.Actor
		if who == "" {
			who = string(f.Source)
		}
		c.Points = append(c.Points, bar{X: px, Y: py, Color: colStep, Title: fmt.Sprintf("%s: %s%% by %s (%s) %s", f.At.UTC().Format(time.RFC3339), pct(f.Percentage), who, f.Source, f.Reason)})
	}
	c.Path = path + fmt.Sprintf(" H%.1f", x(end))
	c.Ticks = []label{{X: left, Y: float64(c.H) - 8, Text: start.UTC().Format("Jan 2 15:04:05")}, {X: x(end), Y: float64(c.H) - 8, Text: end.UTC().Format("Jan 2 15:04:05")}}
	return c
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
