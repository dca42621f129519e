package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cato-gateway/cato/internal/config"
	"github.com/cato-gateway/cato/internal/store"
	"github.com/cato-gateway/cato/internal/testenv"
)

// The kill test runs the gateway in a process of its own — this test
// binary, started again with these variables set (TestMain hands it to
// runGatewayProcess) — so that it can be killed with SIGKILL.
const (
	// gatewayModeEnv is "serve" (the gateway as `cato serve` runs it,
	// consolidation workers included) or "paused" (the HTTP API only:
	// interactions are queued durably and nothing consumes them).
	gatewayModeEnv  = "CATO_TEST_GATEWAY_MODE"
	gatewayStoreEnv = "CATO_TEST_GATEWAY_STORE"
	// gatewayAddrEnv names the file where the process writes its address
	// once it listens.
	gatewayAddrEnv = "CATO_TEST_GATEWAY_ADDR_FILE"
)

// killConfig is memConfig with a short lease, so that Redis and
// PostgreSQL hand a dead process's claims to the next one soon, and a
// session context large enough that no turn of the session kill test is
// folded into a summary.
const killConfig = memConfig + `
memory: {lease: 2s}
session: {context_tokens: 100000}
`

// runGatewayProcess is the gateway process of the kill test: it serves
// until it is killed and returns an exit code only when it fails to start.
func runGatewayProcess(mode string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "gateway process:", err); return 1 }
	cfg, err := config.Parse([]byte(killConfig))
	if err != nil {
		return fail(err)
	}
	cfg.Store = os.Getenv(gatewayStoreEnv)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := New(context.Background(), cfg, memEnv, log)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	file := os.Getenv(gatewayAddrEnv)
	if err := os.WriteFile(file+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		return fail(err)
	}
	if mode == "paused" {
		err = http.Serve(ln, a.Handler())
	} else {
		err = a.Serve(context.Background(), ln)
	}
	return fail(fmt.Errorf("serving ended: %v", err))
}

// gatewayProcess is a gateway running in a child process.
type gatewayProcess struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

// startGatewayProcess starts the gateway on storeURL in a child process
// and waits until it listens. The test's cleanup kills it if it still
// runs.
func startGatewayProcess(t *testing.T, storeURL, mode string) *gatewayProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), gatewayModeEnv+"="+mode, gatewayStoreEnv+"="+storeURL, gatewayAddrEnv+"="+addrFile)
	logFile, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &gatewayProcess{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("gateway process (%s) log:\n%s", mode, b)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			p.base = "http://" + string(b)
			return p
		}
		select {
		case <-p.done:
			b, _ := os.ReadFile(logFile.Name())
			t.Fatalf("the gateway process exited while starting: %s", b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the gateway process did not listen within 60s")
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *gatewayProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// memoryStatusOf reads the memory section of the gateway's /status.
func memoryStatusOf(t *testing.T, base string) (depth int64, consolidations map[string]int64) {
	t.Helper()
	st := decode[struct {
		Memory struct {
			Queue          struct{ Depth int64 } `json:"queue"`
			Consolidations map[string]int64      `json:"consolidations"`
		} `json:"memory"`
	}](t, adminGet(t, base+"/api/admin/cato/status"))
	return st.Memory.Queue.Depth, st.Memory.Consolidations
}

// waitMemory polls the gateway's memory status until ok accepts it.
func waitMemory(t *testing.T, base, what string, within time.Duration, ok func(depth int64, cons map[string]int64) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		depth, cons := memoryStatusOf(t, base)
		if ok(depth, cons) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (queue depth %d, consolidations %v)", what, within, depth, cons)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killLetters spells i in letters, so that it can end a name or a place
// ("Ana" + "bc"): the rule extractor reads capitalised words, not digits.
func killLetters(i int) string {
	s := ""
	for {
		s = string(rune('a'+i%26)) + s
		i /= 26
		if i == 0 {
			return s
		}
	}
}

// TestMemoryKillRestart kills the gateway process with SIGKILL twice —
// once while its queue holds every interaction and nothing consumes it,
// once while its workers are consolidating them — restarts it, and checks
// through the HTTP API that each interaction became exactly one episode
// and exactly its two facts: none lost, none consolidated twice. On Redis,
// PostgreSQL and DynamoDB the dead process's claims come back when their
// lease (2s) ends.
func TestMemoryKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway in child processes")
	}
	backends := memoryBackends(t)
	backends["redis"] = redisDatabase
	for name, storeURL := range backends {
		t.Run(name, func(t *testing.T) {
			killRestart(t, storeURL(t), 120, nil)
		})
	}
}

// redisDatabase returns the test Redis's URL pointed at a database of
// this test's own (9), emptied first: other tests' gateways may have left
// interactions in the queue of database 0.
func redisDatabase(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/9"
	b, err := store.Open(context.Background(), u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.RedisClient().Redis().FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// TestMemoryKillRestartRedisRestarted is TestMemoryKillRestart on a Redis
// of its own (append-only file synced on every write) which is killed with
// SIGKILL and started again under the consolidating gateway: the gateway
// carries on by itself once Redis is back, and is then killed too.
func TestMemoryKillRestartRedisRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway in child processes")
	}
	srv := testenv.NewOwnRedis(t)
	srv.Start(t)
	const n = 120
	killRestart(t, srv.URL(), n, func(base string) {
		_, cons := memoryStatusOf(t, base)
		srv.Kill()
		srv.Start(t)
		t.Logf("Redis killed and restarted after %d consolidations", cons["ok"])
		waitMemory(t, base, "consolidation going on after Redis came back", 2*time.Minute, func(_ int64, c map[string]int64) bool {
			return c["ok"] >= cons["ok"]+n/4
		})
	})
}

// TestMemoryKillRestartPostgresRestarted is TestMemoryKillRestart on a
// PostgreSQL cluster of its own (fsync and synchronous commit on), which
// is stopped in immediate mode — no checkpoint, crash recovery at the next
// start, as after a kill — and started again under the consolidating
// gateway; the gateway is then killed too.
func TestMemoryKillRestartPostgresRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the gateway in child processes")
	}
	testenv.PostgresURL(t) // skips (or fails in CI) where scripts/testenv.sh did not run
	pg := startPostgresCluster(t)
	const n = 120
	killRestart(t, pg.url, n, func(base string) {
		_, cons := memoryStatusOf(t, base)
		pg.crash(t)
		pg.start(t)
		t.Logf("PostgreSQL crashed and restarted after %d consolidations", cons["ok"])
		waitMemory(t, base, "consolidation going on after PostgreSQL came back", 2*time.Minute, func(_ int64, c map[string]int64) bool {
			return c["ok"] >= cons["ok"]+n/4
		})
	})
}

// postgresCluster is a PostgreSQL cluster the test creates, starts and
// stops itself, as the postgres user when the test runs as root
// (PostgreSQL refuses to run as root).
type postgresCluster struct {
	bin, dir, port, url string
	asPostgres          bool
}

func startPostgresCluster(t *testing.T) *postgresCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("pg_ctl not found under /usr/lib/postgresql (scripts/testenv.sh installs it)")
	}
	slices.Sort(bins)
	pg := &postgresCluster{bin: filepath.Dir(bins[len(bins)-1]), port: testenv.SparePort(t), asPostgres: os.Getuid() == 0}
	dir, err := os.MkdirTemp("", "cato-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg.dir = dir
	t.Cleanup(func() {
		pg.run(t, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if pg.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := pg.run(t, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.url = "postgres://postgres@127.0.0.1:" + pg.port + "/postgres?sslmode=disable"
	pg.start(t)
	return pg
}

// run runs one of PostgreSQL's programs, as the postgres user when the
// test is root.
func (pg *postgresCluster) run(t *testing.T, prog string, args ...string) ([]byte, error) {
	t.Helper()
	name, argv := filepath.Join(pg.bin, prog), args
	if pg.asPostgres {
		name, argv = "runuser", append([]string{"-u", "postgres", "--", filepath.Join(pg.bin, prog)}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, name, argv...).CombinedOutput()
}

func (pg *postgresCluster) start(t *testing.T) {
	t.Helper()
	out, err := pg.run(t, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-l", filepath.Join(pg.dir, "server.log"), "-w", "-t", "60",
		"-o", "-p "+pg.port+" -c listen_addresses=127.0.0.1 -k "+pg.dir, "start")
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(pg.dir, "server.log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, b)
	}
}

// crash stops the cluster in immediate mode: every server process quits
// at once, without a checkpoint.
func (pg *postgresCluster) crash(t *testing.T) {
	t.Helper()
	if out, err := pg.run(t, "pg_ctl", "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// killRestart queues n interactions on a gateway process that does not
// consume them and kills it; starts one that consolidates, calls underway
// (when not nil) once a quarter is done, and kills it; then starts a third
// and checks, once the queue is empty, that each interaction is exactly one
// episode and exactly its two facts.
func killRestart(t *testing.T, storeURL string, n int, underway func(base string)) {
	// 1. Nothing consumes: every 202 is an interaction in the durable queue.
	g := startGatewayProcess(t, storeURL, "paused")
	c := client{t, g.base, "key-a"}
	type sent struct{ id, user, name, city string }
	all := make([]sent, n)
	// Users of their own: the shared Redis may hold earlier runs' memory.
	run := make([]byte, 4)
	rand.Read(run)
	for i := range all {
		s := sent{user: fmt.Sprintf("kill-%x-%d", run, i), name: "Ana" + killLetters(i), city: "Port" + killLetters(i)}
		s.id = c.remember(s.user, "", "crash", fmt.Sprintf("My name is %s and I live in %s.", s.name, s.city), "Noted.")
		all[i] = s
	}
	if depth, _ := memoryStatusOf(t, g.base); depth != int64(n) {
		t.Fatalf("queue depth = %d after %d interactions with nothing consuming; want %d", depth, n, n)
	}
	g.kill()

	// 2. Workers on; killed once some interactions are consolidated.
	g = startGatewayProcess(t, storeURL, "serve")
	waitMemory(t, g.base, "a quarter consolidated", 2*time.Minute, func(_ int64, cons map[string]int64) bool {
		return cons["ok"] >= int64(n/4)
	})
	if underway != nil {
		underway(g.base)
	}
	depth, cons := memoryStatusOf(t, g.base)
	g.kill()
	t.Logf("killed while consolidating: %d consolidated, queue depth %d", cons["ok"], depth)
	if depth == 0 {
		t.Logf("every interaction was consolidated before the kill; the second kill proved less than it could")
	}

	// 3. Restarted: the queue drains, each interaction exactly once.
	g = startGatewayProcess(t, storeURL, "serve")
	waitMemory(t, g.base, "the queue drained", 3*time.Minute, func(depth int64, _ map[string]int64) bool { return depth == 0 })
	_, cons = memoryStatusOf(t, g.base)
	t.Logf("after the restart: consolidations %v", cons)

	c = client{t, g.base, "key-a"}
	for _, s := range all {
		fs := c.facts("domain=crash&history=true&user=" + s.user)
		want := map[string]string{"name": s.name, "residence": s.city}
		if len(fs) != len(want) {
			t.Errorf("%s: %d facts (history included) %+v; want exactly name %s and residence %s", s.user, len(fs), fs, s.name, s.city)
			continue
		}
		for _, f := range fs {
			if want[f.Predicate] != f.Object || f.Source != s.id || len(f.Sources) != 1 || f.SupersededBy != "" {
				t.Errorf("%s: fact %+v; want %s from %s alone, current", s.user, f, want[f.Predicate], s.id)
			}
			delete(want, f.Predicate)
		}
		code, b := c.do(http.MethodGet, "/api/cato/memory/episodes?k=50&q="+url.QueryEscape("my name")+"&user="+s.user, "")
		eps := decode[struct{ Episodes []struct{ ID string } }](t, b).Episodes
		if code != http.StatusOK || len(eps) != 1 || eps[0].ID != s.id {
			t.Errorf("%s: episodes %d %s; want exactly %s", s.user, code, strings.TrimSpace(string(b)), s.id)
		}
	}
}
