// Package testenv gives tests the addresses of the Redis and PostgreSQL
// servers that scripts/testenv.sh starts, and the Chromium it installs. It is test support: only _test.go
// files import it, and it is the one Cato package allowed to import testing.
// A test that needs a missing server is skipped on a laptop but fails in CI
// (CI or CATO_REQUIRE_SERVERS set), so a skipped integration test cannot
// pass CI.
package testenv
