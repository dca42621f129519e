package rollout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestOutcomeFailed(t *testing.T) {
	tests := []struct {
		o    Outcome
		want bool
	}{
		{Outcome{Status: 200}, false},
		{Outcome{Status: 404}, false},
		{Outcome{Status: 429}, false},
		{Outcome{Status: 502}, true},
		{Outcome{Err: errors.New("eof")}, true},
		{Outcome{Err: fmt.Errorf("proxy: %w", context.Canceled), Status: 499}, false},
		{Outcome{Err: context.DeadlineExceeded}, true},
		{Outcome{Status: 400, Err: errors.New("invalid request")}, false},
		{Outcome{Status: 404, Err: errors.New("model not found")}, false},
		{Outcome{Status: 200, Err: errors.New("stream broke off")}, true},
		{Outcome{Status: 503, Err: errors.New("breaker open")}, true},
	}
	for _, tt := range tests {
		if got := tt.o.Failed(); got != tt.want {
			t.Errorf("%+v.Failed() = %v; want %v", tt.o, got, tt.want)
		}
	}
}

func TestStatsWindow(t *testing.T) {
	clk := newFakeClock()
	s := NewStats(StatsOptions{Window: time.Minute, SlowAfter: time.Second, Now: clk.Now})
	// 100 legacy requests at 10..1000ms, 2 of them failed; new side idle.
	for i := 1; i <= 100; i++ {
		o := Outcome{Side: SideLegacy, Latency: time.Duration(i) * 10 * time.Millisecond, Status: 200}
		if i%50 == 0 {
			o.Status = 503
		}
		s.Observe(o)
	}
	s.Observe(Outcome{Side: SideNew, Err: context.Canceled, Status: 499})
	got := s.Sides()
	leg := got["legacy"]
	if leg.Requests != 100 || leg.Errors != 2 || leg.WindowRequests != 100 || leg.ErrorRate != 0.02 {
		t.Errorf("legacy = %+v; want 100 requests, 2 errors, rate 0.02", leg)
	}
	// True p50 is 500ms, p99 990ms; bins are within 19% above.
	if leg.P50Ms < 500 || leg.P50Ms > 500*1.19 || leg.P99Ms < 990 || leg.P99Ms > 990*1.19 {
		t.Errorf("legacy p50/p99 = %.1f/%.1f ms; want about 500/990", leg.P50Ms, leg.P99Ms)
	}
	if nw := got["new"]; nw.Requests != 1 || nw.Errors != 0 || nw.WindowRequests != 0 {
		t.Errorf("new = %+v; want one cancelled request, outside the window", nw)
	}

	// Half a window later the samples are still in; a full window later
	// they are gone, but the totals since start stay.
	clk.Advance(30 * time.Second)
	if n := s.Sides()["legacy"].WindowRequests; n != 100 {
		t.Errorf("30s later window holds %d; want 100", n)
	}
	clk.Advance(31 * time.Second)
	leg = s.Sides()["legacy"]
	if leg.WindowRequests != 0 || leg.Requests != 100 || leg.P99Ms != 0 {
		t.Errorf("61s later legacy = %+v; want an empty window and 100 in total", leg)
	}
}

func TestQuantileBins(t *testing.T) {
	for _, d := range []time.Duration{0, time.Microsecond, time.Millisecond, 37 * time.Millisecond, 2 * time.Second, time.Hour} {
		b := binOf(d)
		up := binUpper(b)
		if d > binBase && (up < d || float64(up) > float64(d)*math.Pow(2, 0.25)+1) && b < latencyBins-1 {
			t.Errorf("bin of %v has upper bound %v; want within 19%% above", d, up)
		}
	}
}

func BenchmarkStatsObserve(b *testing.B) {
	s := NewStats(StatsOptions{})
	o := Outcome{Side: SideNew, Latency: 40 * time.Millisecond, Status: 200}
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(o)
	}
}

func TestStatsCacheAndCost(t *testing.T) {
	s := NewStats(StatsOptions{Now: newFakeClock().Now})
	s.Observe(Outcome{Side: SideNew, Status: 200, Cached: true, CostKnown: true})
	s.Observe(Outcome{Side: SideNew, Status: 200, CostUSD: 0.0025, CostKnown: true})
	s.Observe(Outcome{Side: SideNew, Status: 200, CostUSD: 0.0005, CostKnown: true})
	s.Observe(Outcome{Side: SideNew, Status: 200, Cached: true, CostKnown: true})
	s.Observe(Outcome{Side: SideLegacy, Status: 200, CostUSD: 0.001, CostKnown: true})
	s.Observe(Outcome{Side: SideLegacy, Status: 200})
	got := s.Sides()
	nw, leg := got["new"], got["legacy"]
	if nw.CacheHits != 2 || nw.CacheHitRate != 0.5 || math.Abs(nw.CostUSD-0.003) > 1e-9 || nw.CostUnknown != 0 {
		t.Errorf("new = %+v; want 2 hits, rate 0.5, $0.003, none unknown", nw)
	}
	if leg.CacheHits != 0 || math.Abs(leg.CostUSD-0.001) > 1e-9 || leg.CostUnknown != 1 {
		t.Errorf("legacy = %+v; want no hits, $0.001, one unknown", leg)
	}
}
