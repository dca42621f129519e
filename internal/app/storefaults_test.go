package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/testenv"
)

// serveLogged is serve with the gateway's log written to logs.
func serveLogged(t *testing.T, cfgYAML, store string, logs *syncBuffer, environ ...string) string {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Store = store
	a, err := New(context.Background(), cfg, environ, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	base, _ := startServing(t, a)
	return base
}

// queryIn asks query in session through /api/cato/query and returns the
// status, the answer and how long it took.
func queryIn(t *testing.T, base, session, query string) (int, queryAnswer, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, b := post(t, base+"/api/cato/query", fmt.Sprintf(`{"query": %q, "session_id": %q}`, query, session), "Authorization", "Bearer key-a")
	took := time.Since(start)
	var a queryAnswer
	if resp.StatusCode == http.StatusOK {
		a = decode[queryAnswer](t, b)
	}
	return resp.StatusCode, a, took
}

// warnLines counts the lines at WARN or above in a text log.
func warnLines(log string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			n++
		}
	}
	return n
}

// TestHungRedisDegradesCheaply: Redis stopped with SIGSTOP (its
// connections stay open, nothing answers) costs the requests that probe it
// their store timeouts, not every request: the others skip the sessions,
// the cache writes and the recall at once. Every answer is a 200 that
// names session_store as degraded, the warnings are a few lines rather than
// several per request, and once Redis goes on the session keeps turns
// again.
func TestHungRedisDegradesCheaply(t *testing.T) {
	srv := testenv.NewOwnRedis(t)
	srv.Start(t)
	var logs syncBuffer
	base := serveLogged(t, simConfig, srv.URL(), &logs, "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
	if code, _, _ := queryIn(t, base, "hung", "My name is Alice"); code != http.StatusOK {
		t.Fatalf("before the fault: status %d; want 200", code)
	}

	srv.Signal(t, syscall.SIGSTOP)
	warnBefore := warnLines(logs.String())
	const n = 40
	var took []time.Duration
	for i := range n {
		// Each question is new, so that each answer is a cache miss the
		// gateway tries to store.
		code, a, d := queryIn(t, base, "hung", fmt.Sprintf("Tell me about topic number %d in %s", i, killLetters(i)))
		if code != http.StatusOK {
			t.Fatalf("request %d with Redis stopped: status %d; want 200", i, code)
		}
		if !slices.Contains(a.Degraded, "session_store") {
			t.Errorf("request %d: degraded %v; want session_store", i, a.Degraded)
		}
		took = append(took, d)
	}
	slices.Sort(took)
	// Without the guards every request waits for the cache write's 250ms
	// timeout at least (and the session load's 500ms); with them only the
	// request that probes a store after its retry interval does.
	if median := took[n/2]; median >= 250*time.Millisecond {
		t.Errorf("median request took %v with Redis stopped; want under the 250ms cache write timeout (sorted: %v)", median, took)
	}
	if worst := took[n-1]; worst > 5*time.Second {
		t.Errorf("slowest request took %v with Redis stopped; want a few store timeouts at most", worst)
	}
	warned := warnLines(logs.String()) - warnBefore
	t.Logf("Redis stopped: %d requests, median %v, slowest %v, %d warning lines", n, took[n/2], took[n-1], warned)
	if warned > n/4 {
		t.Errorf("%d warning lines for %d requests with Redis stopped; want a few, rate-limited:\n%s", warned, n, logs.String())
	}

	srv.Signal(t, syscall.SIGCONT)
	// The session keeps turns again once the guard has tried the store.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, a, _ := queryIn(t, base, "back", "My name is Bob")
		if code == http.StatusOK && len(a.Degraded) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGCONT: status %d, degraded %v; want a healthy answer within 20s", code, a.Degraded)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, a, _ := queryIn(t, base, "back", "What is my name?"); !strings.Contains(a.Response, "Bob") {
		t.Errorf("after recovery the session answered %q; want it to remember Bob", a.Response)
	}
	if _, a, _ := queryIn(t, base, "hung", "What is my name?"); !strings.Contains(a.Response, "Alice") {
		t.Errorf("the turn kept before the fault is gone: answered %q; want Alice", a.Response)
	}
}
