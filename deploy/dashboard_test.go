package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cato-gateway/cato/internal/app"
	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

const dashboardFile = "grafana/cato.json"

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

// TestDashboard checks that every query of the dashboard names metrics
// Cato exports, and that it shows what an operator steers the migration
// by.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard has no uid or title")
	}
	named := map[string]bool{}
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d repeats", p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 || p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q: want queries on the ${datasource} variable", p.Title)
			}
			for _, tg := range p.Targets {
				for _, m := range checkExpr(t, fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Expr) {
					named[m] = true
				}
				if !strings.Contains(tg.Expr, `namespace=~"$namespace"`) || !strings.Contains(tg.Expr, `job=~"$job"`) {
					t.Errorf("panel %q query %s ignores the namespace and job variables: %s", p.Title, tg.RefID, tg.Expr)
				}
			}
		}
	}
	walk(d.Panels)

	// Variables: label_values(METRIC…, label) names a metric too.
	labelValues := regexp.MustCompile(`^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		text, _ := q["query"].(string)
		m := labelValues.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(metric, label)", v.Name, text)
			continue
		}
		if !exportedMetrics(t)[m[1]] {
			t.Errorf("variable %s: %s is not a metric Cato exports", v.Name, m[1])
		}
	}

	// What the dashboard must show: latency by side and by model, errors,
	// cache hits, cost, breakers, the rollout split, memory's queue.
	for _, m := range []string{
		"cato_rollout_request_duration_seconds_bucket", "cato_upstream_duration_seconds_bucket",
		"cato_requests_total", "cato_cache_requests_total", "cato_cost_usd_total", "cato_breaker_state",
		"cato_rollout_requests_total", "cato_memory_queue_depth", "cato_memory_queue_lag_seconds",
	} {
		if !named[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// checkExpr reports the metrics expr names that Cato does not export and
// returns the names.
func checkExpr(t *testing.T, where, expr string) []string {
	t.Helper()
	names, err := promqlMetrics(expr)
	if err != nil {
		t.Errorf("%s: %v: %s", where, err, expr)
		return nil
	}
	if len(names) == 0 {
		t.Errorf("%s names no metric: %s", where, expr)
	}
	exported := exportedMetrics(t)
	for _, n := range names {
		if !exported[n] {
			t.Errorf("%s: %s is not a metric Cato exports", where, n)
		}
	}
	return names
}

var (
	exportedOnce sync.Once
	exported     map[string]bool
	exportedErr  error
)

// exportedMetrics returns the names of the series Cato exports: those a
// gateway on the default configuration (with the rollout's automatic
// rollback on) shows at /metrics after a chat
// completion (the Go and process collectors, long-term memory's and the
// rollout's collectors), and every collector of package metrics, also
// those that show only once something happened (fallbacks, shedding). A
// histogram exports NAME_bucket, NAME_sum and NAME_count.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	exportedOnce.Do(func() { exported, exportedErr = collectExported(t.TempDir()) })
	if exportedErr != nil {
		t.Fatal(exportedErr)
	}
	return exported
}

func collectExported(dir string) (map[string]bool, error) {
	names := map[string]bool{}
	add := func(name string, histogram bool) {
		if histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
			return
		}
		names[name] = true
	}

	// Every collector of package metrics, described without samples.
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	m := reflect.ValueOf(metrics.New()).Elem()
	collector := reflect.TypeFor[prometheus.Collector]()
	for i := range m.NumField() {
		f := m.Field(i)
		if !f.CanInterface() || !f.Type().Implements(collector) {
			continue
		}
		histogram := strings.Contains(f.Type().String(), "Histogram")
		descs := make(chan *prometheus.Desc, 8)
		go func() { f.Interface().(prometheus.Collector).Describe(descs); close(descs) }()
		for d := range descs {
			if s := fqName.FindStringSubmatch(d.String()); s != nil {
				add(s[1], histogram)
			}
		}
	}

	// A gateway on the default configuration, scraped after a request.
	cfg, err := config.Load("", nil)
	if err != nil {
		return nil, err
	}
	cfg.Store = "embedded://" + dir
	cfg.Rollout.AutoRollback.Enabled = true // registers cato_rollout_auto_rollbacks_total
	a, err := app.New(context.Background(), cfg, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()
	base := "http://" + ln.Addr().String()
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("chat completion: %s", resp.Status)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// # TYPE name counter|gauge|histogram|summary|untyped
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			add(f[2], f[3] == "histogram")
			if f[3] == "summary" {
				names[f[2]+"_sum"], names[f[2]+"_count"] = true, true
			}
		}
	}
	return names, sc.Err()
}

// TestPromQLMetrics checks the metric-name extraction the dashboard and
// alert checks rely on.
func TestPromQLMetrics(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (route, code) (rate(cato_requests_total{namespace=~"$namespace",code=~"5.."}[$__rate_interval]))`, []string{"cato_requests_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(a_bucket{side="new"}[5m]))) > 2`, []string{"a_bucket"}},
		{`sum(rate(x{l="a}b"}[5m])) / sum(rate(y[5m])) > 0.01`, []string{"x", "y"}},
		{`sum without (pod) (x) and on (model) group_left (le) y offset 5m`, []string{"x", "y"}},
		{`max(x{a='it\'s'}) * 3600 unless bool z`, []string{"x", "z"}},
		{`label_replace(x, "dst", "$1", "src", "(.*)")`, []string{"x"}},
		{`sum(rate(process_cpu_seconds_total[1m:10s]))`, []string{"process_cpu_seconds_total"}},
	} {
		got, err := promqlMetrics(tc.expr)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("promqlMetrics(%s) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	for _, bad := range []string{`sum(rate(x[5m])`, `x{a="b"`, `x[5m`, `"open`, `(x))`} {
		if got, err := promqlMetrics(bad); err == nil {
			t.Errorf("promqlMetrics(%s) = %q; want an error", bad, got)
		}
	}
}
