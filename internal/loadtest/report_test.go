package loadtest

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewReport(t *testing.T) {
	res := fixedResult(t)
	res.Plan = Plan{URL: "http://127.0.0.1:8080", Workload: "w", Endpoint: "chat", Mode: ModeOpen, Rate: 4, Duration: 2 * time.Second, Protocol: "h2c", Conns: 2}
	rep := NewReport(res)
	if rep.Sent != 8 || rep.OK != 6 || rep.Failed != 2 || rep.SuccessRate != 0.75 || rep.Throughput != 4 || rep.Goodput != 3 {
		t.Errorf("sent %d ok %d failed %d success %v throughput %v goodput %v; want 8 6 2 0.75 4 3",
			rep.Sent, rep.OK, rep.Failed, rep.SuccessRate, rep.Throughput, rep.Goodput)
	}
	if diff := cmp.Diff([]Count{{"http_503", 1}, {"timeout", 1}}, rep.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	wantCache := CacheReport{Hit: 2, Miss: 1, Bypass: 1, Other: 1, Unknown: 1, HitRate: 2.0 / 3}
	if diff := cmp.Diff(wantCache, rep.Cache); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
	var names []string
	for _, g := range rep.Models {
		names = append(names, g.Name)
	}
	if diff := cmp.Diff([]string{"haiku", "sonnet", groupNone}, names); diff != "" {
		t.Errorf("models by requests (-want +got):\n%s", diff)
	}
	if rep.Models[0].Share != 0.5 || rep.Models[0].HitRate != 0.5 {
		t.Errorf("haiku share %v hit rate %v; want 0.5 0.5", rep.Models[0].Share, rep.Models[0].HitRate)
	}
	if rep.Latency.Count != 6 || math.Abs(rep.Latency.P50-30) > 0.05 || math.Abs(rep.Latency.Max-200) > 0.2 {
		t.Errorf("latency %+v; want 6 samples, p50 30ms, max 200ms", rep.Latency)
	}
	if len(rep.Timeline) != 3 || rep.Timeline[1].T != 1 || rep.Timeline[1].Rate != 4 || rep.Timeline[0].P99 == 0 {
		t.Errorf("timeline %+v; want 3 points a second apart with rates and percentiles", rep.Timeline)
	}
	var binned int64
	for _, b := range rep.Histogram {
		binned += b.Count
		if b.To <= b.From {
			t.Errorf("bin %+v is empty or reversed", b)
		}
	}
	if binned != 6 {
		t.Errorf("histogram bins hold %d; want the 6 successes", binned)
	}
	if n := len(rep.Percentiles); n == 0 || rep.Percentiles[0].Percentile != 0 || rep.Percentiles[n-1].Percentile != 100 {
		t.Errorf("percentiles %+v; want 0 to 100", rep.Percentiles)
	}
}

func TestReportText(t *testing.T) {
	rep := NewReport(fixedResult(t))
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"8 sent, 6 ok (75.00%), 2 failed",
		"Throughput  4.0 req/s finished, 3.0 req/s ok",
		"latency", "p99.9", "stream TTFB",
		"http_503", "timeout",
		"hit rate 66.7% (hit 2, miss 1, bypass 1, other 1, not reported 1)",
		"By model", "haiku", "By rollout side", "legacy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSON(t *testing.T) {
	rep := NewReport(fixedResult(t))
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("report JSON does not decode: %v", err)
	}
	if diff := cmp.Diff(rep, &back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
	for _, key := range []string{`"latency_ms"`, `"p99_9"`, `"hit_rate"`, `"throughput_rps"`, `"timeline"`} {
		if !bytes.Contains(buf.Bytes(), []byte(key)) {
			t.Errorf("report JSON lacks %s", key)
		}
	}
}

func TestReportHTML(t *testing.T) {
	full := fixedResult(t)
	failedOnly := newRecorder(Plan{Mode: ModeClosed}, t0, time.Second)
	failedOnly.begin(t0)
	failedOnly.end(&sample{intended: t0, end: t0.Add(time.Millisecond), errKind: errConnRefused})
	empty := newRecorder(Plan{Mode: ModeOpen}, t0, time.Second)
	for name, tt := range map[string]struct {
		res    *Result
		charts int
	}{
		"full":        {full, 5},
		"failed only": {failedOnly.finish(t0.Add(time.Second)), 2},
		"empty":       {empty.finish(t0), 0},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := NewReport(tt.res).WriteHTML(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if got := strings.Count(out, "<svg"); got != tt.charts {
				t.Errorf("%d charts; want %d", got, tt.charts)
			}
			for _, bad := range []string{"ZgotmplZ", "<script", "http://cdn", "https://"} {
				if strings.Contains(out, bad) {
					t.Errorf("HTML contains %q", bad)
				}
			}
			if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "</html>") {
				t.Error("HTML is not a whole page")
			}
		})
	}
}

func TestLogBinsSingleValue(t *testing.T) {
	h := newHistogram(fineFigures)
	for range 5 {
		h.Record(3 * time.Millisecond)
	}
	bins := logBins(h, 10)
	var n int64
	for _, b := range bins {
		n += b.Count
	}
	if n != 5 || len(bins) != 10 {
		t.Errorf("%d bins holding %d; want 10 bins holding 5", len(bins), n)
	}
}

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	print := ProgressPrinter(&buf)
	print(Progress{Elapsed: time.Second, Sent: 1000, Done: 990, InFlight: 10, Failed: 0, P99: 12300 * time.Microsecond})
	print(Progress{Elapsed: 2 * time.Second, Sent: 3010, Done: 3000, InFlight: 10, Failed: 30, P99: 1500 * time.Millisecond})
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		"    1.0s  sent 1,000  rate 990/s  in flight 10  errors 0 (0.00%)  p99 12.3ms",
		"    2.0s  sent 3,010  rate 2,010/s  in flight 10  errors 30 (1.00%)  p99 1.50s",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("progress lines (-want +got):\n%s", diff)
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 812 * time.Microsecond: "812µs", 1234 * time.Microsecond: "1.23ms", 99 * time.Millisecond: "99.0ms",
		250 * time.Millisecond: "250ms", 1500 * time.Millisecond: "1.50s", 125 * time.Second: "125s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q; want %q", d, got, want)
		}
	}
}
