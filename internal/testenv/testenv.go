package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Variables set by scripts/testenv.sh.
const (
	RedisEnv    = "CATO_TEST_REDIS_URL"
	PostgresEnv = "CATO_TEST_POSTGRES_URL"
	PgvectorEnv = "CATO_TEST_PGVECTOR_URL"
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
