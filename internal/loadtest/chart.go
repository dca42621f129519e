package loadtest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// chart is an SVG plot laid out in Go; report.html.tmpl draws it. All
// coordinates are in SVG user units (pixels of the viewBox).
type chart struct {
	Title  string
	Note   string // a line under the title
	W, H   float64
	Left   float64 // plot area: from Left to W-Right, Top to H-Bottom
	Right  float64
	Top    float64
	Bottom float64
	XTicks []tick
	YTicks []tick
	XLabel string
	YLabel string
	Lines  []line
	Rects  []rect
	Marks  []mark
	Legend []legendItem
}

type tick struct {
	Pos   float64
	Label string
}

type line struct {
	D     string // SVG path data
	Color string
	Dash  bool
	Width float64
}

type rect struct {
	X, Y, W, H float64
	Color      string
	Tip        string
}

// mark is a labelled vertical line.
type mark struct {
	X      float64
	Label  string
	Color  string
	Anchor string  // text-anchor of the label: start or end
	Dx     float64 // label offset from the line
}

type legendItem struct {
	Label string
	Color string
	Dash  bool
}

// PlotRight and PlotBottom are the far edges of the plot area.
func (c *chart) PlotRight() float64  { return c.W - c.Right }
func (c *chart) PlotBottom() float64 { return c.H - c.Bottom }

// PlotW and PlotH are the plot area's size.
func (c *chart) PlotW() float64 { return c.W - c.Left - c.Right }
func (c *chart) PlotH() float64 { return c.H - c.Top - c.Bottom }

func newChart(title, note string) *chart {
	return &chart{Title: title, Note: note, W: 960, H: 300, Left: 64, Right: 32, Top: 16, Bottom: 40}
}

// scale maps data values to pixels, linearly or on a log10 scale.
type scale struct {
	d0, d1 float64 // data domain (log10 of it for a log scale)
	r0, r1 float64 // pixel range
	log    bool
}

func linear(d0, d1, r0, r1 float64) scale {
	if d1 <= d0 {
		d1 = d0 + 1
	}
	return scale{d0: d0, d1: d1, r0: r0, r1: r1}
}

func logarithmic(d0, d1, r0, r1 float64) scale {
	d0, d1 = math.Log10(max(d0, 1e-9)), math.Log10(max(d1, 1e-9))
	if d1 <= d0 {
		d1 = d0 + 1
	}
	return scale{d0: d0, d1: d1, r0: r0, r1: r1, log: true}
}

func (s scale) at(v float64) float64 {
	if s.log {
		v = math.Log10(max(v, 1e-9))
	}
	return s.r0 + (v-s.d0)/(s.d1-s.d0)*(s.r1-s.r0)
}

// niceStep returns a step of 1, 2 or 5 times a power of ten that cuts
// span into about n parts.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// niceMax rounds v up to a multiple of a nice step.
func niceMax(v float64, n int) float64 {
	if v <= 0 {
		return 1
	}
	s := niceStep(v, n)
	return math.Ceil(v/s) * s
}

// linearTicks returns ticks every nice step from 0 to hi.
func linearTicks(s scale, hi float64, n int, label func(float64) string) []tick {
	step := niceStep(hi, n)
	var out []tick
	for v := 0.0; v <= hi+step/1e6; v += step {
		out = append(out, tick{Pos: s.at(v), Label: label(v)})
	}
	return out
}

// logTicks returns ticks at 1, 2 and 5 times powers of ten between lo and
// hi, keeping only powers of ten when there are many decades.
func logTicks(s scale, lo, hi float64, label func(float64) string) []tick {
	var out []tick
	decades := math.Log10(hi) - math.Log10(lo)
	mults := []float64{1, 2, 5}
	if decades > 3 {
		mults = []float64{1}
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if v >= lo*0.999 && v <= hi*1.001 {
				out = append(out, tick{Pos: s.at(v), Label: label(v)})
			}
		}
	}
	return out
}

// msLabel labels a duration in milliseconds: 250µs, 12ms, 1.5s.
func msLabel(v float64) string {
	switch {
	case v <= 0:
		return "0"
	case v < 1:
		return strconv.FormatFloat(v*1000, 'g', 3, 64) + "µs"
	case v < 1000:
		return strconv.FormatFloat(v, 'g', 3, 64) + "ms"
	default:
		return strconv.FormatFloat(v/1000, 'g', 3, 64) + "s"
	}
}

// numLabel labels a count: 1.5k, 20k, 1.2M.
func numLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func secLabel(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) + "s" }

// pathBuilder writes SVG path data, starting a new subpath after a gap.
type pathBuilder struct {
	b   strings.Builder
	pen bool
}

func (p *pathBuilder) point(x, y float64) {
	cmd := "L"
	if !p.pen {
		cmd = "M"
	}
	fmt.Fprintf(&p.b, "%s%.1f %.1f ", cmd, x, y)
	p.pen = true
}

// gap lifts the pen: the next point starts a new subpath.
func (p *pathBuilder) gap() { p.pen = false }

func (p *pathBuilder) String() string { return strings.TrimSpace(p.b.String()) }
