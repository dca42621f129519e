package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/testenv"
	"golang.org/x/sys/unix"
)

// serveLogged is serve with the gateway's log written to h.
func serveLogged(t *testing.T, cfgYAML, store string, h slog.Handler, environ ...string) string {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Store = store
	a, err := New(context.Background(), cfg, environ, slog.New(h))
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

var logMsg = regexp.MustCompile(`msg=("(?:[^"\\]|\\.)*"|\S+)`)

// warnLines counts the lines at WARN or above in a text log, all of them
// and by message.
func warnLines(log string) (int, map[string]int) {
	n, byMsg := 0, map[string]int{}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			n++
			if m := logMsg.FindStringSubmatch(l); m != nil {
				byMsg[m[1]]++
			}
		}
	}
	return n, byMsg
}

// A storeFault is a store server a test breaks and mends: fault stops it
// answering (SIGSTOP, or a kill) and mend makes it answer again (SIGCONT,
// or a restart on the same data).
type storeFault struct {
	name  string
	start func(t *testing.T) (url string, fault, mend func())
}

// stopProcessTree sends sig to pid and to every process below it.
func stopProcessTree(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	pids := []int{pid}
	for i := 0; i < len(pids); i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pids[i], pids[i]))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	for _, p := range pids {
		if err := syscall.Kill(p, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Fatalf("signalling %d: %v", p, err)
		}
	}
}

// postmasterPID reads the cluster's postmaster.pid.
func (pg *postgresCluster) postmasterPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

var storeFaults = []storeFault{
	{
		name: "Redis stopped (SIGSTOP), then continued",
		start: func(t *testing.T) (string, func(), func()) {
			srv := testenv.NewOwnRedis(t)
			srv.Start(t)
			return srv.URL(), func() { srv.Signal(t, syscall.SIGSTOP) }, func() { srv.Signal(t, syscall.SIGCONT) }
		},
	},
	{
		name: "Redis killed (SIGKILL), then restarted",
		start: func(t *testing.T) (string, func(), func()) {
			srv := testenv.NewOwnRedis(t)
			srv.Start(t)
			return srv.URL(), srv.Kill, func() { srv.Start(t) }
		},
	},
	{
		name: "PostgreSQL stopped (SIGSTOP to every server process), then continued",
		start: func(t *testing.T) (string, func(), func()) {
			testenv.PostgresURL(t) // skips (or fails in CI) where scripts/testenv.sh did not run
			pg := startPostgresCluster(t)
			pid := pg.postmasterPID(t)
			// A stopped cluster ignores pg_ctl stop: let it go on first,
			// should the test end before mend (cleanups run last first).
			t.Cleanup(func() { stopProcessTree(t, pid, syscall.SIGCONT) })
			return pg.url, func() { stopProcessTree(t, pid, syscall.SIGSTOP) }, func() { stopProcessTree(t, pid, syscall.SIGCONT) }
		},
	},
	{
		name: "PostgreSQL killed (immediate stop), then restarted",
		start: func(t *testing.T) (string, func(), func()) {
			testenv.PostgresURL(t)
			pg := startPostgresCluster(t)
			return pg.url, func() { pg.crash(t) }, func() { pg.start(t) }
		},
	},
}

// TestStoreFaults: a shared store that hangs (SIGSTOP: its connections
// stay open, nothing answers) or dies costs the requests that probe it
// their store timeouts, not every request: the others skip the sessions,
// the cache writes and the recall at once. Every answer is a 200 that
// names session_store as degraded, the warnings are a few rate-limited
// lines rather than several per request, and once the store is back the
// session keeps turns again, the turn kept before the fault included.
func TestStoreFaults(t *testing.T) {
	for _, sf := range storeFaults {
		t.Run(sf.name, func(t *testing.T) {
			url, fault, mend := sf.start(t)
			var logs syncBuffer
			base := serveLogged(t, simConfig, url, slog.NewTextHandler(&logs, nil), "TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin")
			if code, _, _ := queryIn(t, base, "before", "My name is Alice"); code != http.StatusOK {
				t.Fatalf("before the fault: status %d; want 200", code)
			}

			fault()
			faultAt := time.Now()
			warnBefore, kindsBefore := warnLines(logs.String())
			const n = 40
			var took []time.Duration
			for i := range n {
				// Each question is new, so that each answer is a cache
				// miss the gateway tries to store.
				code, a, d := queryIn(t, base, "during", fmt.Sprintf("Tell me about topic number %d in %s", i, killLetters(i)))
				if code != http.StatusOK {
					t.Fatalf("request %d during the fault: status %d; want 200", i, code)
				}
				if !slices.Contains(a.Degraded, "session_store") {
					t.Errorf("request %d: degraded %v; want session_store", i, a.Degraded)
				}
				took = append(took, d)
			}
			slices.Sort(took)
			warnAfter, kinds := warnLines(logs.String())
			warned := warnAfter - warnBefore
			t.Logf("%d requests during the fault: median %v, slowest %v, %d warning lines", n, took[n/2], took[n-1], warned)
			// Without the guards every request waits for the cache
			// write's 250ms timeout at least (and the session load's
			// 500ms) on a hung store; with them only the request that
			// probes a store after its retry interval does.
			if median := took[n/2]; median >= 250*time.Millisecond {
				t.Errorf("median request took %v during the fault; want under the 250ms cache write timeout (sorted: %v)", median, took)
			}
			if worst := took[n-1]; worst > 5*time.Second {
				t.Errorf("slowest request took %v during the fault; want a few store timeouts at most", worst)
			}
			// One line per message per 10s interval of the rate limit: a
			// message repeats with time, not with the requests.
			perKind := 2 + int(time.Since(faultAt)/(10*time.Second))
			for msg, c := range kinds {
				d := c - kindsBefore[msg]
				if d > 0 {
					t.Logf("  %d× %s", d, msg)
				}
				if d > perKind {
					t.Errorf("%d warning lines %s during the fault; want at most %d, rate-limited", d, msg, perKind)
				}
			}
			if warned > n/2 {
				t.Errorf("%d warning lines for %d requests during the fault; want a few, rate-limited:\n%s", warned, n, logs.String())
			}

			mend()
			deadline := time.Now().Add(30 * time.Second)
			for {
				code, a, _ := queryIn(t, base, "after", "My name is Bob")
				if code == http.StatusOK && len(a.Degraded) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the store came back: status %d, degraded %v; want a healthy answer within 30s", code, a.Degraded)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if _, a, _ := queryIn(t, base, "after", "What is my name?"); !strings.Contains(a.Response, "Bob") {
				t.Errorf("after recovery the session answered %q; want it to remember Bob", a.Response)
			}
			if _, a, _ := queryIn(t, base, "before", "What is my name?"); !strings.Contains(a.Response, "Alice") {
				t.Errorf("the turn kept before the fault is gone: answered %q; want Alice", a.Response)
			}
		})
	}
}

// TestEmbeddedStoreDiskFull: the embedded store's disk fills up under a
// gateway process (simulated with RLIMIT_FSIZE below the store file's
// size, set on the process from outside with prlimit, which works as root
// where a full or read-only file system cannot be made: every write of a
// new page fails with EFBIG, as on a full disk). The gateway keeps
// answering, degraded (the session store's guard refuses reads too while
// it takes the store for down), loses nothing it stored before, and keeps
// turns again once there is room.
func TestEmbeddedStoreDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway in a child process")
	}
	p := startGatewayProcess(t, "embedded://"+t.TempDir(), "serve")
	if code, a, _ := queryIn(t, p.base, "before", "My name is Alice"); code != http.StatusOK || len(a.Degraded) != 0 {
		t.Fatalf("before the fault: status %d, degraded %v; want a healthy 200", code, a.Degraded)
	}
	setFileLimit := func(n uint64) {
		t.Helper()
		if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: n, Max: unix.RLIM_INFINITY}, nil); err != nil {
			t.Fatalf("prlimit: %v", err)
		}
	}
	setFileLimit(16 << 10)
	const n = 20
	for i := range n {
		code, a, _ := queryIn(t, p.base, "during", fmt.Sprintf("Tell me about topic number %d in %s", i, killLetters(i)))
		if code != http.StatusOK {
			t.Fatalf("request %d with the disk full: status %d; want 200", i, code)
		}
		if !slices.Contains(a.Degraded, "session_store") {
			t.Errorf("request %d with the disk full: degraded %v; want session_store", i, a.Degraded)
		}
	}
	select {
	case <-p.done:
		t.Fatal("the gateway process exited with the disk full")
	default:
	}

	setFileLimit(unix.RLIM_INFINITY)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, a, _ := queryIn(t, p.base, "after", "My name is Bob")
		if code == http.StatusOK && len(a.Degraded) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after room was made: status %d, degraded %v; want a healthy answer within 30s", code, a.Degraded)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, a, _ := queryIn(t, p.base, "after", "What is my name?"); !strings.Contains(a.Response, "Bob") {
		t.Errorf("after room was made the session answered %q; want it to remember Bob", a.Response)
	}
	if _, a, _ := queryIn(t, p.base, "before", "What is my name?"); !strings.Contains(a.Response, "Alice") {
		t.Errorf("the turn kept before the disk filled is gone: answered %q; want Alice", a.Response)
	}
}

// TestEmbeddedStoreReadOnlyAtStart: an embedded store on a path Cato
// cannot write is refused at start-up, naming the store. /proc is read-only
// even for root, whom file modes do not stop.
func TestEmbeddedStoreReadOnlyAtStart(t *testing.T) {
	cfg, err := config.Parse([]byte(simConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store = "embedded:///proc/cato-read-only"
	a, err := New(context.Background(), cfg, []string{"TEST_KEY_A=key-a", "TEST_ADMIN_KEY=admin"}, slog.New(slog.DiscardHandler))
	if err == nil {
		a.close()
		t.Fatal("app.New on a read-only path succeeded; want it refused")
	}
	if !strings.HasPrefix(err.Error(), "store: ") {
		t.Errorf("app.New = %v; want an error naming the store", err)
	}
	t.Logf("refused: %v", err)
}
