package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/app"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/cutover"
)

// startGateway serves cfgYAML in process until the test ends and returns
// its base URL.
func startGateway(t *testing.T, cfgYAML string, environ ...string) string {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(context.Background(), cfg, environ, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestRolloutReportScripted runs a small rollout against a gateway in
// process, with a fake LiteLLM as the legacy side: traffic on both sides
// (a repeated question so that the cache answers), shadow traffic, a set
// and a rollback; then it checks the report in every format.
func TestRolloutReportScripted(t *testing.T) {
	legacy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"l","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Paris is the capital of France."}}],"usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000}}`)
	}))
	defer legacy.Close()
	base := startGateway(t, fmt.Sprintf(`
listen: 127.0.0.1:0
store: embedded://%s
models:
  fast: {provider: simulated, price: {input_per_mtok: 1, output_per_mtok: 2}}
  legacy: {provider: openai, base_url: %q, model_id: gpt-4o-mini, price: {input_per_mtok: 0.5, output_per_mtok: 1}}
routing: {simple: fast}
rollout: {percentage: 50, legacy: legacy, side_header: true, shadow: {percentage: 100}}
memory: {enabled: false}
`, filepath.Join(t.TempDir(), "cato"), legacy.URL+"/v1"), "CATO_ADMIN_KEY=admin")

	ask := func(side, question string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions",
			strings.NewReader(fmt.Sprintf(`{"model":"auto","messages":[{"role":"user","content":%q}]}`, question)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Cato-Side", side)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Cato-Side") != side {
			t.Fatalf("%s request: %d on side %q", side, resp.StatusCode, resp.Header.Get("X-Cato-Side"))
		}
	}
	for range 3 {
		ask("new", "What is the capital of France?")
	}
	ask("new", "Explain how a bicycle gear works.")
	for range 3 {
		ask("legacy", "What is the capital of France?")
	}
	admin := []string{"--url", base, "--admin-key", "admin", "--actor", "alice"}
	if _, _, err := rolloutCmd(t, append([]string{"set", "30", "--reason", "canary step 2"}, admin...)...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rolloutCmd(t, append([]string{"rollback", "--reason", "p99 spike on team-a"}, admin...)...); err != nil {
		t.Fatal(err)
	}

	report := func(format string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "report."+format)
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), []string{"rollout", "report", "--url", base, "--admin-key", "admin", "--format", format, "-o", out}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("report --format %s: exit %d: %s", format, code, stderr.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// The shadow copies run in the background: wait until all are compared.
	var rep cutover.Report
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := json.Unmarshal([]byte(report("json")), &rep); err != nil {
			t.Fatal(err)
		}
		if s := rep.Shadow; s != nil && s.Sent == 7 && s.Completed == 7 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rep.New.Requests != 4 || rep.Legacy.Requests != 3 || rep.New.Errors != 0 || rep.Legacy.Errors != 0 {
		t.Errorf("requests new %d legacy %d, errors %d/%d; want 4 and 3, none failed", rep.New.Requests, rep.Legacy.Requests, rep.New.Errors, rep.Legacy.Errors)
	}
	if rep.New.CacheHits < 1 || rep.New.CacheHits > 2 || rep.Legacy.CacheHits != 0 {
		t.Errorf("cache hits new %d legacy %d; want the repeated question answered from the cache", rep.New.CacheHits, rep.Legacy.CacheHits)
	}
	// 3 legacy answers × (1000 × $0.5 + 2000 × $1) per million tokens.
	if !rep.Legacy.CostKnown || math.Abs(rep.Legacy.CostUSD-0.0075) > 1e-9 || rep.Legacy.CostUnknown != 0 {
		t.Errorf("legacy cost = $%v known %v (%d unknown); want $0.0075 known", rep.Legacy.CostUSD, rep.Legacy.CostKnown, rep.Legacy.CostUnknown)
	}
	if !rep.New.CostKnown || rep.New.CostUSD <= 0 {
		t.Errorf("new cost = $%v known %v; want a positive known cost", rep.New.CostUSD, rep.New.CostKnown)
	}
	if s := rep.Shadow; s == nil || s.Sent != 7 || s.Completed != 7 || s.Compared != 7 {
		t.Errorf("shadow = %+v; want 7 sent, completed and compared", s)
	}
	if rep.New.Satisfaction != nil || rep.Verdicts[2].Value != "no ratings" {
		t.Errorf("satisfaction = %+v, verdict %+v; want no ratings", rep.New.Satisfaction, rep.Verdicts[2])
	}
	if rep.Verdicts[0].Result != cutover.Pass || rep.Verdicts[1].Result != cutover.Pass || rep.Outcome != cutover.Unknown {
		t.Errorf("verdicts %+v, outcome %s; want errors and p99 passing, outcome unknown for want of ratings", rep.Verdicts, rep.Outcome)
	}
	var steps []string
	for _, f := range rep.History {
		steps = append(steps, fmt.Sprintf("%v%% %s %s %s", f.Percentage, f.Source, f.Actor, f.Reason))
	}
	want := []string{"30% cli alice canary step 2", "0% cli alice p99 spike on team-a"}
	if len(steps) < 3 || !strings.HasPrefix(steps[0], "50% config") || strings.Join(steps[1:], "|") != strings.Join(want, "|") {
		t.Errorf("history = %q; want the seeded 50%% then %q", steps, want)
	}
	if rep.Current.Percentage != 0 {
		t.Errorf("current = %v%%; want 0 after the rollback", rep.Current.Percentage)
	}

	text := report("text")
	for _, s := range []string{"flag: 0% of users on the new side", "p99 spike on team-a", "canary step 2", "$0.0075", "no ratings",
		"PASS    error rate", "UNKNOWN satisfaction", "shadow comparison: 7 sent"} {
		if !strings.Contains(text, s) {
			t.Errorf("text report lacks %q:\n%s", s, text)
		}
	}
	html := report("html")
	for _, s := range []string{"<!DOCTYPE html>", "<svg", "p99 spike on team-a", "canary step 2", "no ratings", "Shadow comparison"} {
		if !strings.Contains(html, s) {
			t.Errorf("HTML report lacks %q", s)
		}
	}
	// --check fails only on a failed verdict: here the outcome is unknown.
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"rollout", "report", "--url", base, "--admin-key", "admin", "--check"}, &stdout, &stderr); code != 0 {
		t.Errorf("--check: exit %d; want 0 with no failed verdict: %s", code, stderr.String())
	}
	if code := Run(context.Background(), []string{"rollout", "report", "--url", base, "--admin-key", "admin", "--check", "--max-p99", "1ns"}, &stdout, &stderr); code != 1 {
		t.Errorf("--check --max-p99 1ns: exit %d; want 1", code)
	}
	if code := Run(context.Background(), []string{"rollout", "report", "--format", "pdf"}, &stdout, &stderr); code != 2 {
		t.Errorf("--format pdf: exit %d; want 2", code)
	}
}
