package cutover

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// replicaStatus is a /status document as a replica with ratings answers it.
const replicaStatus = `{
  "version": "v1.2.3", "uptime_s": 3600,
  "rollout": {
    "percentage": 25,
    "current": {"percentage": 25, "version": %VER%, "source": "cli", "actor": "alice", "reason": "step 2", "at": "2026-12-01T10:00:00Z"},
    "traffic": {"new": 100, "legacy": 300},
    "sides": {
      "new": {"requests": 100, "errors": %ERR%, "window_requests": 100, "error_rate": 0, "p50_ms": 120, "p99_ms": %P99%, "cache_hits": 20, "cache_hit_rate": 0.2, "cost_usd": 0.5, "cost_unknown": 0},
      "legacy": {"requests": 300, "errors": 3, "window_requests": 300, "error_rate": 0.01, "p50_ms": 200, "p99_ms": 900, "cache_hits": 0, "cache_hit_rate": 0, "cost_usd": 0, "cost_unknown": 300}
    },
    "shadow": {"percentage": 10, "sent": 40, "dropped": 0, "completed": 40, "primary_errors": 0, "shadow_errors": 1, "error_mismatch": 1, "compared": 39, "mean_similarity": %SIM%, "low_similarity": 2, "mean_latency_delta_ms": -50, "mean_length_ratio": 1.1},
    "satisfaction": {"new": {"ratings": %NR%, "positive": 30, "neutral": 5, "negative": %NN%, "negative_share": 0}, "legacy": {"ratings": 50, "positive": 40, "neutral": 5, "negative": 5, "negative_share": 0.1}},
    "history": [{"percentage": 25, "version": %VER%, "source": "cli", "actor": "alice", "reason": "step 2", "at": "2026-12-01T10:00:00Z"}]
  }
}`

const replicaRollout = `{"use_new_orchestrator": {"percentage": 25}, "current": {"percentage": 25, "version": 2},
  "history": [
    {"percentage": 25, "version": 2, "source": "cli", "actor": "alice", "reason": "step 2", "at": "2026-12-01T10:00:00Z"},
    {"percentage": 5, "version": 1, "source": "config", "actor": "config@host", "at": "2026-12-01T09:00:00Z"}
  ]}`

func fakeReplica(t *testing.T, repl map[string]string) *httptest.Server {
	t.Helper()
	status := replicaStatus
	for k, v := range repl {
		status = strings.ReplaceAll(status, k, v)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer adm" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case StatusPath:
			w.Write([]byte(status))
		case RolloutPath:
			w.Write([]byte(replicaRollout))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBuildMergesReplicas(t *testing.T) {
	// Both replicas read the same shared ratings; b read them earlier.
	a := fakeReplica(t, map[string]string{"%VER%": "2", "%ERR%": "0", "%P99%": "800", "%SIM%": "0.9", "%NR%": "50", "%NN%": "10"})
	b := fakeReplica(t, map[string]string{"%VER%": "2", "%ERR%": "1", "%P99%": "1500", "%SIM%": "0.7", "%NR%": "40", "%NN%": "5"})
	c := Client{AdminKey: "adm"}
	var snaps []*Snapshot
	for _, u := range []string{a.URL, b.URL + "/"} {
		s, err := c.Fetch(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	r := Build(snaps, DefaultCriteria(), time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	if r.New.Requests != 200 || r.New.Errors != 1 || r.New.ErrorRate != 0.005 || r.Legacy.Requests != 600 {
		t.Errorf("new = %+v, legacy requests %d; want 200 requests, 1 error, 0.5%%, legacy 600", r.New, r.Legacy.Requests)
	}
	if r.New.P99Ms != 1500 || r.New.P50Ms != 120 {
		t.Errorf("new p50/p99 = %v/%v; want the highest replica's 120/1500", r.New.P50Ms, r.New.P99Ms)
	}
	if r.New.CacheHits != 40 || r.New.CacheHitRate != 0.2 || !r.New.CostKnown || r.New.CostUSD != 1 || r.New.CostPerRequestUSD != 0.005 {
		t.Errorf("new cache/cost = %+v; want 40 hits (20%%), $1 known, $0.005 a request", r.New)
	}
	if r.Legacy.CostKnown {
		t.Errorf("legacy cost known = true; every legacy request's cost was unknown")
	}
	if s := r.New.Satisfaction; s == nil || s.Ratings != 50 || s.Negative != 10 || s.NegativeShare != 0.2 {
		t.Errorf("new satisfaction = %+v; want 50 ratings, 10 negative, share 0.2", s)
	}
	if s := r.Shadow; s == nil || s.Sent != 80 || s.Compared != 78 || math.Abs(s.MeanSimilarity-0.8) > 1e-9 {
		t.Errorf("shadow = %+v; want 80 sent, 78 compared, similarity 0.8", s)
	}
	if len(r.History) != 2 || r.History[0].Version != 1 || r.History[1].Actor != "alice" {
		t.Errorf("history = %+v; want versions 1, 2 oldest first, deduplicated", r.History)
	}
	want := map[string]string{"error rate": Pass, "p99 latency": Pass, "satisfaction": Fail}
	for _, v := range r.Verdicts {
		if want[v.Name] != v.Result {
			t.Errorf("verdict %s = %s (%s); want %s", v.Name, v.Result, v.Value, want[v.Name])
		}
	}
	if r.Outcome != Fail || !r.Consistent {
		t.Errorf("outcome %s, consistent %v; want fail, consistent", r.Outcome, r.Consistent)
	}

	var txt, js, page bytes.Buffer
	if err := r.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"outcome: FAIL", "PASS    error rate", "FAIL    satisfaction", "mean similarity 0.800", "alice", "step 2", "$1.0000", "unknown"} {
		if !strings.Contains(txt.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, txt.String())
		}
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.New.Requests != 200 || back.Outcome != Fail {
		t.Errorf("JSON round trip: %v, %+v", err, back.New)
	}
	if !strings.Contains(js.String(), `"max_p99_ms": 2000`) || !strings.Contains(js.String(), `"max_error_rate": 0.01`) {
		t.Errorf("JSON criteria not in milliseconds:\n%s", js.String())
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<svg", "Cato cutover report", "badge bad", "step 2", "p99 rule 2000 ms", "replica 2 p99"} {
		if !strings.Contains(page.String(), s) {
			t.Errorf("HTML report lacks %q", s)
		}
	}
}

func TestVerdictsWithoutEvidence(t *testing.T) {
	r := Build([]*Snapshot{{URL: "x"}}, DefaultCriteria(), time.Now())
	for _, v := range r.Verdicts {
		if v.Result != Unknown {
			t.Errorf("verdict %s = %s; want unknown with no traffic", v.Name, v.Result)
		}
	}
	if r.Outcome != Unknown {
		t.Errorf("outcome = %s; want unknown", r.Outcome)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil || !strings.Contains(b.String(), "no ratings") {
		t.Errorf("text: %v\n%s", err, b.String())
	}
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
}

func TestFetchErrors(t *testing.T) {
	srv := fakeReplica(t, nil)
	if _, err := (Client{}).Fetch(context.Background(), srv.URL); err == nil || !strings.Contains(err.Error(), "CATO_ADMIN_KEY") {
		t.Errorf("Fetch without key: %v; want a 401 naming CATO_ADMIN_KEY", err)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"version":"x"}`)) }))
	defer plain.Close()
	if _, err := (Client{}).Fetch(context.Background(), plain.URL); err == nil || !strings.Contains(err.Error(), "no rollout section") {
		t.Errorf("Fetch of a status without rollout: %v", err)
	}
}
