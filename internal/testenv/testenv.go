package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Variables set by scripts/testenv.sh.
const (
	RedisEnv    = "CATO_TEST_REDIS_URL"
	PostgresEnv = "CATO_TEST_POSTGRES_URL"
	PgvectorEnv = "CATO_TEST_PGVECTOR_URL"
	DynamoDBEnv = "CATO_TEST_DYNAMODB_URL"
)

// Required reports whether missing servers fail tests rather than skip them:
// when CI or CATO_REQUIRE_SERVERS is set to anything but "" or "0".
func Required() bool {
	for _, v := range []string{"CI", "CATO_REQUIRE_SERVERS"} {
		if s := os.Getenv(v); s != "" && s != "0" && s != "false" {
			return true
		}
	}
	return false
}

// RedisURL returns the URL of the test Redis server (redis://host:port/0).
func RedisURL(t testing.TB) string { t.Helper(); return lookup(t, RedisEnv, "Redis") }

// PostgresURL returns the URL of the test PostgreSQL 15 server, which has no
// pgvector.
func PostgresURL(t testing.TB) string { t.Helper(); return lookup(t, PostgresEnv, "PostgreSQL") }

// PgvectorURL returns the URL of the test PostgreSQL server with pgvector
// (pglite: PostgreSQL compiled to WebAssembly, a few connections at most).
func PgvectorURL(t testing.TB) string {
	t.Helper()
	return lookup(t, PgvectorEnv, "PostgreSQL with pgvector")
}

// DynamoDBURL returns the URL of the test DynamoDB server (dynalite):
// dynamodb://TABLE?region=…&endpoint=http://127.0.0.1:PORT. Tests give
// the table a suffix of their own.
func DynamoDBURL(t testing.TB) string {
	t.Helper()
	return lookup(t, DynamoDBEnv, "DynamoDB (dynalite)")
}

// RedisServer returns the path of the redis-server binary, for tests that
// start and stop their own server.
func RedisServer(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server is not installed (scripts/testenv.sh installs it)")
	}
	return p
}

func lookup(t testing.TB, env, what string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		missing(t, what+": "+env+" is not set; run the tests through scripts/testenv.sh")
	}
	return u
}

func missing(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatal(why)
	}
	t.Skip(why)
}

// NodeCompatEnv names the directory where scripts/testenv.sh installed the
// OpenAI clients of the compatibility suite (scripts/compat/package.json):
// it holds their node_modules.
const NodeCompatEnv = "CATO_TEST_NODE_COMPAT"

// NodeCompat returns the directory of the installed compatibility clients
// and the path of the node binary that runs them.
func NodeCompat(t testing.TB) (dir, node string) {
	t.Helper()
	dir = lookup(t, NodeCompatEnv, "the OpenAI clients of the compatibility suite")
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not installed (the compatibility suite runs the clients with it)")
	}
	return dir, node
}

// OwnRedis is a redis-server that one test starts, kills and restarts
// itself, on a spare loopback port and a data folder of its own, with an
// append-only file synced on every write so that a kill loses nothing it
// acknowledged. It is not safe for concurrent use.
type OwnRedis struct {
	bin, dir, port string
	cmd            *exec.Cmd
}

// NewOwnRedis returns a stopped OwnRedis that t's cleanup kills. It skips,
// or fails in CI, when redis-server is not installed.
func NewOwnRedis(t testing.TB) *OwnRedis {
	t.Helper()
	r := &OwnRedis{bin: RedisServer(t), dir: t.TempDir(), port: SparePort(t)}
	t.Cleanup(r.Kill)
	return r
}

// URL is the server's database 0.
func (r *OwnRedis) URL() string { return "redis://127.0.0.1:" + r.port + "/0" }

// Start starts the server and waits until it accepts connections.
func (r *OwnRedis) Start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command(r.bin, "--port", r.port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--logfile", "redis.log")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+r.port, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on port %s did not start: %v", r.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Signal sends sig to the running server: syscall.SIGSTOP hangs it as a
// store that stops answering without closing its connections would,
// syscall.SIGCONT lets it go on.
func (r *OwnRedis) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		t.Fatalf("redis-server on port %s is not running", r.port)
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling redis-server: %v", err)
	}
}

// Kill kills the server with SIGKILL and waits for it; it does nothing
// when the server is not running.
func (r *OwnRedis) Kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// SparePort returns a loopback TCP port nobody listens on now.
func SparePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
