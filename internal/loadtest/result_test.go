package loadtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fixedResult records a known set of samples: over 2s in 1s buckets, 6
// successes with known latencies and outcomes, and 2 failures.
func fixedResult(t *testing.T) *Result {
	t.Helper()
	rec := newRecorder(Plan{Mode: ModeOpen}, t0, time.Second)
	ok := func(at, lat time.Duration, cache, model, side string) *sample {
		return &sample{intended: t0.Add(at), sent: t0.Add(at + time.Millisecond), end: t0.Add(at + lat), status: 200, cache: cache, model: model, side: side}
	}
	samples := []*sample{
		ok(0, 10*time.Millisecond, "hit", "haiku", "new"),
		ok(100*time.Millisecond, 20*time.Millisecond, "miss", "haiku", "new"),
		ok(200*time.Millisecond, 30*time.Millisecond, "bypass", "sonnet", "legacy"),
		ok(1100*time.Millisecond, 40*time.Millisecond, "", "sonnet", ""),
		ok(1200*time.Millisecond, 50*time.Millisecond, "HIT", "", ""),
		ok(1900*time.Millisecond, 200*time.Millisecond, "stale", "haiku", "new"), // ends in the third second
		{intended: t0.Add(300 * time.Millisecond), sent: t0.Add(300 * time.Millisecond), end: t0.Add(time.Second + 300*time.Millisecond), errKind: errTimeout},
		{intended: t0.Add(1300 * time.Millisecond), sent: t0.Add(1300 * time.Millisecond), end: t0.Add(1400 * time.Millisecond), status: 503, model: "haiku", errKind: statusKind(503)},
	}
	samples[0].stream, samples[0].ttfb, samples[0].gaps = true, 4*time.Millisecond, []time.Duration{time.Millisecond, 2 * time.Millisecond}
	for _, s := range samples {
		rec.begin(s.intended)
	}
	if p := rec.progress(t0.Add(time.Second)); p.InFlight != 8 || p.Sent != 8 || p.Done != 0 {
		t.Errorf("progress with all in flight = %+v; want 8 sent, 8 in flight, 0 done", p)
	}
	for _, s := range samples {
		rec.end(s)
	}
	return rec.finish(t0.Add(2 * time.Second))
}

func TestResultCounts(t *testing.T) {
	res := fixedResult(t)
	if res.Sent != 8 || res.OK != 6 || res.Failed != 2 {
		t.Errorf("sent %d ok %d failed %d; want 8 6 2", res.Sent, res.OK, res.Failed)
	}
	if diff := cmp.Diff(map[string]int64{"timeout": 1, "http_503": 1}, res.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"hit": 2, "miss": 1, "bypass": 1, "unknown": 1, "other": 1}, res.Cache); diff != "" {
		t.Errorf("cache (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int]int64{200: 6, 503: 1}, res.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	type g struct{ OK, Failed, Hit, Miss, Bypass int64 }
	groups := func(m map[string]*Group) map[string]g {
		out := map[string]g{}
		for k, v := range m {
			out[k] = g{v.OK, v.Failed, v.Hit, v.Miss, v.Bypass}
		}
		return out
	}
	if diff := cmp.Diff(map[string]g{"haiku": {3, 1, 1, 1, 0}, "sonnet": {2, 0, 0, 0, 1}, groupNone: {1, 0, 1, 0, 0}}, groups(res.Models)); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]g{"new": {3, 0, 1, 1, 0}, "legacy": {1, 0, 0, 0, 1}}, groups(res.Sides)); diff != "" {
		t.Errorf("sides (-want +got):\n%s", diff)
	}
	type b struct{ Sent, OK, Failed, Done, MaxInFlight int64 }
	var tl []b
	for _, x := range res.Timeline {
		tl = append(tl, b{x.Sent, x.OK, x.Failed, x.Done, x.MaxInFlight})
	}
	// Begun in the order listed: the timeout (the 7th) is in the first
	// second, so 7 were in flight there at most.
	want := []b{{4, 3, 1, 3, 7}, {4, 3, 1, 4, 8}, {0, 0, 0, 1, 0}}
	if diff := cmp.Diff(want, tl); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	within := func(got, want time.Duration) bool { return got >= want && got <= want+want/1000 } // 3 significant figures
	if res.Latency.Count() != 6 || !within(res.Latency.Quantile(50), 30*time.Millisecond) || !within(res.Latency.Max(), 200*time.Millisecond) {
		t.Errorf("latency count %d p50 %v max %v; want 6, 30ms, 200ms", res.Latency.Count(), res.Latency.Quantile(50), res.Latency.Max())
	}
	if res.Streams != 1 || res.TTFB.Count() != 1 || res.InterChunk.Count() != 2 {
		t.Errorf("streams %d ttfb %d gaps %d; want 1 1 2", res.Streams, res.TTFB.Count(), res.InterChunk.Count())
	}
}

// TestResultMergeJSON checks that a result survives the worker protocol
// (JSON) and that merging two adds every count.
func TestResultMergeJSON(t *testing.T) {
	a := fixedResult(t)
	data, err := json.Marshal(fixedResult(t))
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var b Result
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	b.Start = b.Start.Add(-time.Second)
	b.Warnings = []string{"w1"}
	a.Merge(&b)
	if a.Sent != 16 || a.OK != 12 || a.Failed != 4 || a.Errors["timeout"] != 2 || a.Cache["hit"] != 4 || a.Status[200] != 12 {
		t.Errorf("merged: sent %d ok %d failed %d errors %v cache %v status %v; want everything doubled",
			a.Sent, a.OK, a.Failed, a.Errors, a.Cache, a.Status)
	}
	if a.Models["haiku"].OK != 6 || a.Sides["new"].Hit != 2 || a.Latency.Count() != 12 || a.InterChunk.Count() != 4 {
		t.Errorf("merged groups or histograms not doubled")
	}
	if !a.Start.Equal(t0.Add(-time.Second)) || len(a.Timeline) != 3 || a.Timeline[1].MaxInFlight != 16 || a.Timeline[0].Latency.Count() != 6 {
		t.Errorf("merged start %v, timeline %d buckets", a.Start, len(a.Timeline))
	}
	if diff := cmp.Diff([]string{"w1"}, a.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestGroupCap(t *testing.T) {
	m := map[string]*Group{}
	for i := range maxGroups + 10 {
		group(m, fmt.Sprint("model-", i)).OK++
	}
	if len(m) != maxGroups+1 || m[groupOther] == nil || m[groupOther].OK != 10 {
		t.Errorf("%d groups, other %+v; want %d groups and 10 in %s", len(m), m[groupOther], maxGroups+1, groupOther)
	}
}
