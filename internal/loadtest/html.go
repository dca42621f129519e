package loadtest

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"time"
)

//go:embed report.html.tmpl
var reportTemplate string

// Colours of the series, the same in every chart.
const (
	colP50      = "#2563eb"
	colP90      = "#0d9488"
	colP99      = "#ea580c"
	colMax      = "#94a3b8"
	colOK       = "#22c55e"
	colFailed   = "#dc2626"
	colInFlight = "#7c3aed"
	colHit      = "#16a34a"
	colMiss     = "#f59e0b"
	colBypass   = "#64748b"
	colUnknown  = "#cbd5e1"
)

var htmlFuncs = template.FuncMap{
	"ms":    fmtMs,
	"count": count,
	"pct":   func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
	"pctOf": func(a, b int64) float64 { return 100 * ratio(a, b) },
	"f1":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"date":  func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
}

var reportHTML = template.Must(template.New("report").Funcs(htmlFuncs).Parse(reportTemplate))

// htmlPage is what the template draws.
type htmlPage struct {
	*Report
	Charts     []*chart
	CacheBar   []share
	ErrorTotal int64
}

// share is one segment of a horizontal 100% bar.
type share struct {
	Label string
	Count int64
	Pct   float64
	Color string
}

// WriteHTML writes r as a self-contained HTML page: figures, tables and
// inline SVG plots, with no script and nothing fetched from elsewhere.
func (r *Report) WriteHTML(w io.Writer) error {
	page := htmlPage{Report: r, ErrorTotal: r.Failed}
	for _, c := range []*chart{latencyOverTime(r), rateOverTime(r), inFlightOverTime(r), latencyHistogram(r), percentileChart(r)} {
		if c != nil {
			page.Charts = append(page.Charts, c)
		}
	}
	c := r.Cache
	total := c.Hit + c.Miss + c.Bypass + c.Other + c.Unknown
	for _, s := range []share{
		{"hit", c.Hit, 0, colHit}, {"miss", c.Miss, 0, colMiss}, {"bypass", c.Bypass, 0, colBypass},
		{"other", c.Other, 0, colUnknown}, {"not reported", c.Unknown, 0, colUnknown},
	} {
		if s.Count > 0 {
			s.Pct = 100 * ratio(s.Count, total)
			page.CacheBar = append(page.CacheBar, s)
		}
	}
	if err := reportHTML.Execute(w, page); err != nil {
		return fmt.Errorf("writing HTML report: %w", err)
	}
	return nil
}

// timeAxis returns the x scale and ticks of a timeline chart.
func timeAxis(c *chart, r *Report) (scale, float64) {
	width := 0.0
	if len(r.Timeline) > 1 {
		width = r.Timeline[1].T - r.Timeline[0].T
	}
	end := max(r.ElapsedS, float64(len(r.Timeline))*width, 0.001)
	x := linear(0, end, c.Left, c.PlotRight())
	c.XTicks = linearTicks(x, end, 10, secLabel)
	c.XLabel = "time since start"
	return x, width
}

func latencyOverTime(r *Report) *chart {
	if r.Latency.Count == 0 || len(r.Timeline) == 0 {
		return nil
	}
	c := newChart("Latency over time", "percentiles of the requests started in each interval (log scale)")
	x, width := timeAxis(c, r)
	lo, hi := math.Inf(1), 0.0
	for _, p := range r.Timeline {
		if p.OK > 0 {
			lo, hi = min(lo, p.P50), max(hi, p.Max)
		}
	}
	// Pad the data by a quarter each way rather than round to whole
	// decades, which would squash the lines into a band.
	lo, hi = max(lo, 0.001)/1.25, max(hi, 0.001)*1.25
	y := logarithmic(lo, hi, c.PlotBottom(), c.Top)
	c.YTicks = logTicks(y, lo, hi, msLabel)
	for _, s := range []struct {
		name  string
		color string
		dash  bool
		get   func(Point) float64
	}{
		{"max", colMax, true, func(p Point) float64 { return p.Max }},
		{"p99", colP99, false, func(p Point) float64 { return p.P99 }},
		{"p90", colP90, false, func(p Point) float64 { return p.P90 }},
		{"p50", colP50, false, func(p Point) float64 { return p.P50 }},
	} {
		var path pathBuilder
		for _, p := range r.Timeline {
			if p.OK == 0 {
				path.gap()
				continue
			}
			path.point(x.at(p.T+width/2), y.at(s.get(p)))
		}
		width := 2.0
		if s.dash {
			width = 1.25 // the max is noisy: keep it in the background
		}
		c.Lines = append(c.Lines, line{D: path.String(), Color: s.color, Dash: s.dash, Width: width})
	}
	c.Legend = []legendItem{{"p50", colP50, false}, {"p90", colP90, false}, {"p99", colP99, false}, {"max", colMax, true}}
	return c
}

func rateOverTime(r *Report) *chart {
	if len(r.Timeline) == 0 {
		return nil
	}
	c := newChart("Requests per second", "by intended start: succeeded and failed")
	x, width := timeAxis(c, r)
	if width == 0 {
		width = max(r.ElapsedS, 0.001)
	}
	top := 0.0
	for _, p := range r.Timeline {
		top = max(top, float64(p.OK+p.Failed)/width)
	}
	top = niceMax(top, 5)
	y := linear(0, top, c.PlotBottom(), c.Top)
	c.YTicks = linearTicks(y, top, 5, numLabel)
	barW := max(x.at(width)-x.at(0)-1, 0.5)
	for _, p := range r.Timeline {
		okRate, failRate := float64(p.OK)/width, float64(p.Failed)/width
		x0 := x.at(p.T) + 0.5
		yOK := y.at(okRate)
		c.Rects = append(c.Rects, rect{X: x0, Y: yOK, W: barW, H: c.PlotBottom() - yOK, Color: colOK,
			Tip: fmt.Sprintf("%s: %.0f ok/s", secLabel(p.T), okRate)})
		if p.Failed > 0 {
			yF := y.at(okRate + failRate)
			c.Rects = append(c.Rects, rect{X: x0, Y: yF, W: barW, H: yOK - yF, Color: colFailed,
				Tip: fmt.Sprintf("%s: %.0f failed/s", secLabel(p.T), failRate)})
		}
	}
	c.Legend = []legendItem{{"ok", colOK, false}, {"failed", colFailed, false}}
	return c
}

func inFlightOverTime(r *Report) *chart {
	if len(r.Timeline) == 0 {
		return nil
	}
	c := newChart("Requests in flight", "the most at once in each interval")
	c.H = 220
	x, width := timeAxis(c, r)
	top := 0.0
	for _, p := range r.Timeline {
		top = max(top, float64(p.MaxInFlight))
	}
	top = niceMax(top, 4)
	y := linear(0, top, c.PlotBottom(), c.Top)
	c.YTicks = linearTicks(y, top, 4, numLabel)
	var path pathBuilder
	for _, p := range r.Timeline {
		path.point(x.at(p.T), y.at(float64(p.MaxInFlight)))
		path.point(x.at(p.T+width), y.at(float64(p.MaxInFlight)))
	}
	c.Lines = append(c.Lines, line{D: path.String(), Color: colInFlight, Width: 2})
	return c
}

func latencyHistogram(r *Report) *chart {
	if len(r.Histogram) == 0 {
		return nil
	}
	c := newChart("Latency distribution", "successes by latency (log scale), with the percentiles marked")
	lo, hi := r.Histogram[0].From, r.Histogram[len(r.Histogram)-1].To
	x := logarithmic(lo, hi, c.Left, c.PlotRight())
	c.XTicks = logTicks(x, lo, hi, msLabel)
	c.XLabel = "latency"
	top := int64(0)
	for _, b := range r.Histogram {
		top = max(top, b.Count)
	}
	yTop := niceMax(float64(top), 5)
	y := linear(0, yTop, c.PlotBottom(), c.Top)
	c.YTicks = linearTicks(y, yTop, 5, numLabel)
	for _, b := range r.Histogram {
		if b.Count == 0 {
			continue
		}
		x0, x1 := x.at(b.From), x.at(b.To)
		yv := y.at(float64(b.Count))
		c.Rects = append(c.Rects, rect{X: x0 + 0.5, Y: yv, W: max(x1-x0-1, 0.5), H: c.PlotBottom() - yv, Color: colP50,
			Tip: fmt.Sprintf("%s–%s: %s", msLabel(b.From), msLabel(b.To), count(b.Count))})
	}
	for _, m := range []struct {
		label string
		v     float64
		color string
	}{{"p50", r.Latency.P50, colP50}, {"p99", r.Latency.P99, colP99}, {"p99.9", r.Latency.P999, colFailed}} {
		if m.v >= lo && m.v <= hi {
			mk := mark{X: x.at(m.v), Label: m.label + " " + msLabel(m.v), Color: m.color, Anchor: "start", Dx: 4}
			if mk.X > c.Left+0.8*c.PlotW() {
				mk.Anchor, mk.Dx = "end", -4 // keep the label inside the chart
			}
			c.Marks = append(c.Marks, mk)
		}
	}
	return c
}

// percentileChart plots latency against percentile on the usual HDR axis,
// where each step right is ten times rarer: 90%, 99%, 99.9%.
func percentileChart(r *Report) *chart {
	if len(r.Percentiles) == 0 {
		return nil
	}
	c := newChart("Latency by percentile", "how slow the slowest requests were; each step right is ten times rarer")
	nines := func(p float64) float64 { return math.Log10(100 / max(100-p, 1e-4)) }
	last := r.Percentiles[len(r.Percentiles)-1]
	xEnd := math.Ceil(nines(min(last.Percentile, 99.9999)))
	if last.Percentile == 100 && len(r.Percentiles) > 1 {
		xEnd = math.Ceil(nines(r.Percentiles[len(r.Percentiles)-2].Percentile) + 0.5)
	}
	xEnd = max(xEnd, 1)
	x := linear(0, xEnd, c.Left, c.PlotRight())
	for d := 0.0; d <= xEnd; d++ {
		label := "0%"
		if d > 0 {
			label = strconv.FormatFloat(100-100/math.Pow(10, d), 'f', -1, 64) + "%"
		}
		c.XTicks = append(c.XTicks, tick{Pos: x.at(d), Label: label})
	}
	c.XLabel = "percentile"
	top := niceMax(last.Ms, 5)
	y := linear(0, top, c.PlotBottom(), c.Top)
	c.YTicks = linearTicks(y, top, 5, msLabel)
	var path pathBuilder
	for _, p := range r.Percentiles {
		px := xEnd
		if p.Percentile < 100 {
			px = min(nines(p.Percentile), xEnd)
		}
		path.point(x.at(px), y.at(p.Ms))
	}
	c.Lines = append(c.Lines, line{D: path.String(), Color: colP99, Width: 2.5})
	return c
}
