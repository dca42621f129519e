package loadtest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func mustWorkload(t testing.TB, yaml string) *Workload {
	t.Helper()
	w, err := ParseWorkload([]byte(yaml))
	if err != nil {
		t.Fatalf("ParseWorkload: %v", err)
	}
	w.Name = "test"
	return w
}

const e2eWorkload = `
stream: 0.3
users: 20
tenants:
  - {name: a, weight: 2, keys: [ka1, ka2]}
  - {name: b, keys: [kb]}
queries:
  - {text: "What is 2+2?", weight: 2}
  - {paraphrases: ["capital of France?", "France's capital?"], domain: general}
`

// checkInvariants checks that a result's counts add up.
func checkInvariants(t *testing.T, res *Result) {
	t.Helper()
	sum := func(m map[string]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	if res.OK+res.Failed != res.Sent {
		t.Errorf("ok %d + failed %d != sent %d", res.OK, res.Failed, res.Sent)
	}
	if n := sum(res.Errors); n != res.Failed {
		t.Errorf("errors by kind add up to %d; failed = %d (%v)", n, res.Failed, res.Errors)
	}
	if n := sum(res.Cache); n != res.OK {
		t.Errorf("cache outcomes add up to %d; ok = %d (%v)", n, res.OK, res.Cache)
	}
	if n := res.Latency.Count(); n != res.OK {
		t.Errorf("latency histogram counts %d; ok = %d", n, res.OK)
	}
	if n := res.TTFB.Count(); n != res.Streams {
		t.Errorf("TTFB histogram counts %d; streams = %d", n, res.Streams)
	}
	var tlSent, tlOK, tlFailed, tlDone int64
	for _, b := range res.Timeline {
		tlSent, tlOK, tlFailed, tlDone = tlSent+b.Sent, tlOK+b.OK, tlFailed+b.Failed, tlDone+b.Done
	}
	if tlSent != res.Sent || tlOK != res.OK || tlFailed != res.Failed || tlDone != res.Sent {
		t.Errorf("timeline adds up to sent %d ok %d failed %d done %d; want %d %d %d %d",
			tlSent, tlOK, tlFailed, tlDone, res.Sent, res.OK, res.Failed, res.Sent)
	}
	var gOK int64
	for _, g := range res.Models {
		gOK += g.OK
	}
	if gOK != res.OK {
		t.Errorf("models' ok add up to %d; ok = %d", gOK, res.OK)
	}
}

func TestRunEndToEnd(t *testing.T) {
	tests := []struct {
		name        string
		h2c         bool
		rate        float64
		concurrency int
	}{
		{"http1 open loop", false, 500, 0},
		{"http1 closed loop", false, 0, 16},
		{"h2c open loop", true, 500, 0},
		{"h2c closed loop", true, 0, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeCato(t)
			fake.failEvery = 10
			srv := fake.start(tt.h2c)
			const n = 300
			res, err := Run(t.Context(), Options{
				URL: srv.URL, Workload: mustWorkload(t, e2eWorkload),
				Rate: tt.rate, Concurrency: tt.concurrency, Ramp: 100 * time.Millisecond,
				Duration: 5 * time.Second, MaxRequests: n, Timeout: 5 * time.Second, H2C: tt.h2c, Conns: 2,
			}, discard())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkInvariants(t, res)
			if res.Sent != n {
				t.Errorf("sent %d; want %d (max requests)", res.Sent, n)
			}
			if got := fake.requests.Load(); got != res.Sent {
				t.Errorf("server saw %d requests; result says %d sent", got, res.Sent)
			}
			wantH2 := int64(0)
			if tt.h2c {
				wantH2 = res.Sent
			}
			if got := fake.http2.Load(); got != wantH2 {
				t.Errorf("server saw %d HTTP/2 requests; want %d", got, wantH2)
			}
			if res.Failed != fake.failed.Load() || res.Errors["http_503"] != res.Failed {
				t.Errorf("failed %d, errors %v; server sent %d 503s", res.Failed, res.Errors, fake.failed.Load())
			}
			if res.Status[503] != res.Failed || res.Status[200] != res.OK {
				t.Errorf("status counts %v; want 200: %d, 503: %d", res.Status, res.OK, res.Failed)
			}
			if res.Cache[cacheHit] == 0 || res.Cache[cacheMiss] == 0 || res.Cache[cacheBypass] == 0 {
				t.Errorf("cache outcomes %v; want hits, misses and bypasses", res.Cache)
			}
			if res.Streams == 0 || res.InterChunk.Count() < 3*res.Streams {
				t.Errorf("streams %d with %d inter-chunk gaps; want some streams, each with 4+ gaps", res.Streams, res.InterChunk.Count())
			}
			if len(res.Models) != 2 || res.Models["bedrock_haiku"] == nil || res.Models["bedrock_sonnet"] == nil {
				t.Errorf("models %v; want bedrock_haiku and bedrock_sonnet", keys(res.Models))
			}
			if res.Sides["new"] == nil || res.Sides["legacy"] == nil || res.Sides["new"].OK+res.Sides["legacy"].OK != res.OK {
				t.Errorf("sides %v do not split the %d successes into new and legacy", keys(res.Sides), res.OK)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			for k := range fake.keys {
				if k != "Bearer ka1" && k != "Bearer ka2" && k != "Bearer kb" {
					t.Errorf("server saw Authorization %q; want one of the tenants' keys", k)
				}
			}
			if len(fake.problems) > 0 {
				t.Errorf("server saw problems: %v", fake.problems)
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRunSessions(t *testing.T) {
	for _, history := range []string{HistoryServer, HistoryClient} {
		t.Run(history, func(t *testing.T) {
			fake := newFakeCato(t)
			srv := fake.start(false)
			w := mustWorkload(t, `
stream: 0.5
sessions: {share: 1, turns: 3, history: `+history+`}
queries: [{text: hello}]
`)
			res, err := Run(t.Context(), Options{
				URL: srv.URL, Workload: w, Concurrency: 8, Duration: 5 * time.Second, MaxRequests: 120, Timeout: 5 * time.Second,
			}, discard())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkInvariants(t, res)
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.problems) > 0 {
				t.Errorf("server saw problems: %v", fake.problems)
			}
			if len(fake.turns) == 0 {
				t.Fatal("server saw no sessions")
			}
			for id, counts := range fake.msgCounts {
				if len(counts) > 3 {
					t.Errorf("session %s had %d turns; want at most 3", id, len(counts))
				}
				for k, c := range counts {
					want := 1
					if history == HistoryClient {
						want = 1 + 2*k
					}
					if c != want {
						t.Errorf("session %s turn %d sent %d messages; want %d (history %s)", id, k+1, c, want, history)
					}
				}
			}
		})
	}
}

func TestRunQueryEndpoint(t *testing.T) {
	fake := newFakeCato(t)
	srv := fake.start(false)
	w := mustWorkload(t, "endpoint: query\nqueries: [{text: 'What is 2+2?'}]\n")
	res, err := Run(t.Context(), Options{URL: srv.URL, Workload: w, Concurrency: 4, Duration: 5 * time.Second, MaxRequests: 40}, discard())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkInvariants(t, res)
	// Every 4th request has X-Cato-Cache: hit; every 4th has no header and
	// is read from the body's "cached": true.
	if res.OK != 40 || res.Cache[cacheUnknown] != 0 || res.Cache[cacheHit] != 20 {
		t.Errorf("ok %d, cache %v; want 40 ok, 20 hits and nothing unknown", res.OK, res.Cache)
	}
}

func TestRunErrors(t *testing.T) {
	w := mustWorkload(t, "stream: 1\nqueries: [{text: hi}]\n")
	refused := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	stalls := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The server notices a client gone only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	truncates := func(t *testing.T) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name   string
		url    func(*testing.T) string
		kind   string
		status int
	}{
		{"connection refused", refused, errConnRefused, 0},
		{"timeout", stalls, errTimeout, 0},
		{"stream without DONE", truncates, errStreamTruncated, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(t.Context(), Options{
				URL: tt.url(t), Workload: w, Concurrency: 2, Duration: 5 * time.Second, MaxRequests: 6, Timeout: 200 * time.Millisecond,
			}, discard())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkInvariants(t, res)
			if res.Failed != 6 || res.Errors[tt.kind] != 6 {
				t.Errorf("failed %d, errors %v; want 6 of kind %s", res.Failed, res.Errors, tt.kind)
			}
			if res.Status[tt.status] != 0 && tt.status == 0 {
				t.Errorf("status counts %v; want none", res.Status)
			}
		})
	}
}

// TestRunInterrupted checks that cancelling the context (Ctrl-C) ends the
// run at once with the result so far, in-flight requests counted as
// canceled.
func TestRunInterrupted(t *testing.T) {
	fake := newFakeCato(t)
	fake.delay = 100 * time.Millisecond
	srv := fake.start(false)
	ctx, cancel := context.WithCancel(t.Context())
	var once bool
	opts := Options{
		URL: srv.URL, Workload: mustWorkload(t, e2eWorkload), Rate: 200, Duration: 30 * time.Second, Timeout: 10 * time.Second,
		ProgressEvery: 50 * time.Millisecond,
		Progress: func(p Progress) {
			if p.Done >= 20 && !once {
				once = true
				cancel()
			}
		},
	}
	began := time.Now()
	res, err := Run(ctx, opts, discard())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("Run took %v after cancel; want it to stop at once", took)
	}
	checkInvariants(t, res)
	if !res.Interrupted {
		t.Error("Interrupted = false; want true")
	}
	if res.Errors[errCanceled] == 0 || res.OK < 20 {
		t.Errorf("ok %d, errors %v; want 20+ ok and some canceled", res.OK, res.Errors)
	}
}

func TestOptionsValidate(t *testing.T) {
	w := mustWorkload(t, "queries: [{text: hi}]\n")
	good := Options{URL: "http://127.0.0.1:1", Workload: w, Rate: 10, Duration: time.Second}
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"both modes", func(o *Options) { o.Concurrency = 3 }, "not both"},
		{"no mode", func(o *Options) { o.Rate = 0 }, "set a rate"},
		{"no duration", func(o *Options) { o.Duration = 0 }, "duration must be positive"},
		{"long ramp", func(o *Options) { o.Ramp = 2 * time.Second }, "ramp"},
		{"bad url", func(o *Options) { o.URL = "127.0.0.1:8080" }, "url"},
		{"h2c over https", func(o *Options) { o.URL = "https://x"; o.H2C = true }, "http:// url"},
		{"negative", func(o *Options) { o.MaxRequests = -1 }, "negative"},
		{"no workload", func(o *Options) { o.Workload = nil }, "no workload"},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.change(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	w := mustWorkload(t, "queries: [{text: hi}]\n")
	tests := []struct {
		name        string
		opts        Options
		limit       uint64
		wantInFl    int
		wantConns   int
		wantSources int
		warn        string // substring of a warning; empty: none
	}{
		{"h2c open default", Options{Rate: 1000, H2C: true}, 20000, defaultH2InFlight, 16, 0, ""},
		{"h2c closed 50k", Options{Concurrency: 50000, H2C: true}, 20000, 50000, 13, 0, ""},
		{"h2c closed small", Options{Concurrency: 10, H2C: true}, 20000, 10, 1, 0, ""},
		{"http1 open fits the limit", Options{Rate: 1000}, 20000, 20000 - reservedFiles, 0, 0, ""},
		{"http1 closed beyond the limit", Options{Concurrency: 50000, SourceAddrs: 2}, 20000, 50000, 0, 2, "--workers 3"},
		{"http1 auto source addresses", Options{Concurrency: 60000}, 1 << 20, 60000, 0, 3, ""},
		{"http1 one source address", Options{Concurrency: 60000, SourceAddrs: 1}, 1 << 20, 60000, 0, 0, "ephemeral ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.URL, o.Workload, o.Duration = "http://127.0.0.1:8080", w, time.Second
			r, err := resolve(o, tt.limit)
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			if r.inFlight != tt.wantInFl || (o.H2C && r.Conns != tt.wantConns) || len(r.sources) != tt.wantSources {
				t.Errorf("in flight %d, conns %d, sources %d; want %d, %d, %d", r.inFlight, r.Conns, len(r.sources), tt.wantInFl, tt.wantConns, tt.wantSources)
			}
			joined := strings.Join(r.warnings, "\n")
			if (tt.warn == "") != (joined == "") || !strings.Contains(joined, tt.warn) {
				t.Errorf("warnings %q; want one mentioning %q", joined, tt.warn)
			}
		})
	}
}

func TestSourceAddrsDial(t *testing.T) {
	// Connections really come from the source addresses, in turn.
	seen := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		seen <- host
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sources, err := sourceAddrs(u, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	pool := newClientPool(transportConfig{sources: sources, idle: 0})
	defer pool.close()
	got := map[string]bool{}
	for range 3 {
		// A new connection each time: no keep-alive.
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Close = true
		resp, err := pool.get().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got[<-seen] = true
	}
	for _, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		if !got[want] {
			t.Errorf("connections came from %v; want %s among them", keys(got), want)
		}
	}
}
