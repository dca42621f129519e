package loadtest

import (
	"encoding/json"
	"testing"
	"time"
)

// TestHistogramPercentiles checks percentiles against data whose answer is
// known: 1..1000µs once each, exact at three significant figures.
func TestHistogramPercentiles(t *testing.T) {
	h := newHistogram(fineFigures)
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{
		{0, 1 * time.Microsecond},
		{50, 500 * time.Microsecond},
		{90, 900 * time.Microsecond},
		{99, 990 * time.Microsecond},
		{99.9, 999 * time.Microsecond},
		{100, 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		if got := h.Quantile(tt.p); got != tt.want {
			t.Errorf("Quantile(%v) = %v; want %v", tt.p, got, tt.want)
		}
	}
	if h.Count() != 1000 || h.Min() != time.Microsecond || h.Max() != time.Millisecond {
		t.Errorf("count %d, min %v, max %v; want 1000, 1µs, 1ms", h.Count(), h.Min(), h.Max())
	}
	if got, want := h.Mean(), 500500*time.Nanosecond; got < want-time.Microsecond || got > want+time.Microsecond {
		t.Errorf("Mean() = %v; want %v ± 1µs", got, want)
	}
}

// TestHistogramPrecision checks large values within the promised 0.1%.
func TestHistogramPrecision(t *testing.T) {
	h := newHistogram(fineFigures)
	// 90 fast answers of 2ms, 10 slow of 1.5s: p90 is fast, p99 slow.
	for range 90 {
		h.Record(2 * time.Millisecond)
	}
	for range 10 {
		h.Record(1500 * time.Millisecond)
	}
	near := func(got, want time.Duration) bool {
		d := got - want
		return d >= 0 && d <= want/1000
	}
	if got := h.Quantile(90); !near(got, 2*time.Millisecond) {
		t.Errorf("Quantile(90) = %v; want 2ms within 0.1%%", got)
	}
	if got := h.Quantile(91); !near(got, 1500*time.Millisecond) {
		t.Errorf("Quantile(91) = %v; want 1.5s within 0.1%%", got)
	}
}

func TestHistogramClampsAndEmpty(t *testing.T) {
	h := newHistogram(coarseFigures)
	if h.Quantile(99) != 0 || h.Max() != 0 || h.Min() != 0 {
		t.Errorf("empty histogram: p99 %v max %v min %v; want zeros", h.Quantile(99), h.Max(), h.Min())
	}
	h.Record(-time.Second)  // a clock step back: counted as the smallest value
	h.Record(2 * time.Hour) // beyond the range: counted as one hour
	h.Record(0)
	if h.Count() != 3 {
		t.Errorf("Count() = %d; want 3", h.Count())
	}
	if got := h.Max(); got < time.Hour || got > time.Hour*101/100 {
		t.Errorf("Max() = %v; want about 1h", got)
	}
}

func TestHistogramJSONAndMerge(t *testing.T) {
	a, b := newHistogram(fineFigures), newHistogram(fineFigures)
	for i := 1; i <= 500; i++ {
		a.Record(time.Duration(i) * time.Microsecond)
	}
	for i := 501; i <= 1000; i++ {
		b.Record(time.Duration(i) * time.Microsecond)
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back Histogram
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if back.Count() != 500 || back.Quantile(50) != 750*time.Microsecond {
		t.Errorf("decoded: count %d, p50 %v; want 500, 750µs", back.Count(), back.Quantile(50))
	}
	a.Merge(&back)
	if a.Count() != 1000 || a.Quantile(99) != 990*time.Microsecond {
		t.Errorf("merged: count %d, p99 %v; want 1000, 990µs", a.Count(), a.Quantile(99))
	}
	if err := json.Unmarshal([]byte(`"not base64!"`), &back); err == nil {
		t.Error("Unmarshal of garbage = nil error; want one")
	}
}
