#!/usr/bin/env bash
# fuzz.sh runs every native fuzz target of the module, one after another.
#
#   scripts/fuzz.sh [PACKAGE_PATTERN...]      (default ./...)
#
# `go test -fuzz` takes one package and one target per run, and links its
# test binary again each time. So the script builds each package's test
# binary once with fuzzing instrumentation (`go test -c -fuzz=.`), lists
# its targets (`-test.list '^Fuzz'`), and runs each for FUZZTIME from the
# package's directory, with the corpus cache `go test -fuzz` uses. It runs
# them all, then prints the ones that failed and exits 1 if any did.
# A crasher is written by `go test` to the package's
# testdata/fuzz/FuzzXxx/ directory: fix the bug and commit the file, which
# every later `go test` runs as a regression seed.
#
# Environment:
#   GO               the go command (default go)
#   FUZZTIME         how long each target runs: a duration (2s) or a count
#                    of executions (500x); default 2s
#   FUZZPARALLEL     fuzzing workers per target (default 1: the fuzz step
#                    of `make test` shares the machine with everything else)
#   FUZZMINIMIZETIME how long to minimise a crasher (default 10s)
#   FUZZLOG          if set, a file to append one line per target to:
#                    package, target, executions, seconds, result
set -u

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-2s}
FUZZPARALLEL=${FUZZPARALLEL:-1}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-10s}
[ $# -eq 0 ] && set -- ./...

failed=()
ran=0
start=$SECONDS
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cache=$("$GO" env GOCACHE)/fuzz
# Packages whose test files declare a fuzz target.
while read -r dir pkg; do
	grep -qsE '^func Fuzz[A-Za-z0-9_]*\(' "$dir"/*_test.go || continue
	exe=$bin/$(printf '%s' "$pkg" | tr '/' '_').test
	if ! "$GO" test -c -fuzz=. -o "$exe" "$pkg"; then
		failed+=("$pkg (does not build)")
		continue
	fi
	for t in $(cd "$dir" && "$exe" -test.list '^Fuzz' | grep -E '^Fuzz'); do
		ran=$((ran + 1))
		t0=$SECONDS
		out=$(cd "$dir" && "$exe" -test.run '^$' -test.fuzz "^${t}\$" -test.fuzztime "$FUZZTIME" \
			-test.fuzzminimizetime "$FUZZMINIMIZETIME" -test.parallel "$FUZZPARALLEL" \
			-test.fuzzcachedir "$cache/$pkg" 2>&1)
		rc=$?
		execs=$(printf '%s\n' "$out" | sed -nE 's/.*execs: ([0-9]+).*/\1/p' | tail -1)
		result=ok
		# With a short FUZZTIME and a large cached corpus, `go test` can
		# spend the whole time gathering baseline coverage and then report
		# only "context deadline exceeded": no input failed, so that is not
		# a crasher. Anything else that fails is.
		if [ $rc -ne 0 ] && printf '%s\n' "$out" | grep -q '^    context deadline exceeded$' &&
			! printf '%s\n' "$out" | grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:'; then
			rc=0
			result="ok (time ran out gathering baseline coverage)"
		fi
		if [ $rc -ne 0 ]; then
			result=FAIL
			failed+=("$pkg $t")
			printf '%s\n' "$out"
		fi
		printf 'fuzz %-50s %-28s %9s execs %4ds %s\n' "$pkg" "$t" "${execs:-?}" $((SECONDS - t0)) "$result"
		if [ -n "${FUZZLOG:-}" ]; then
			printf '%s %s %s %d %s\n' "$pkg" "$t" "${execs:-0}" $((SECONDS - t0)) "$result" >>"$FUZZLOG"
		fi
	done
done < <("$GO" list -f '{{.Dir}} {{.ImportPath}}' "$@")

echo "fuzz: $ran targets in $((SECONDS - start))s, FUZZTIME=$FUZZTIME"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
