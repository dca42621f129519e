# Shared set-up of the bench scripts; source it after `set -euo pipefail`.
# It moves to the repository root, builds bin/cato, makes $OUT (where the
# raw reports land) and stops every process whose pid the script adds to
# pids when it exits.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=bench/out
mkdir -p "$OUT"
go build -o bin/cato ./cmd/cato

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# wait_healthy URL...: waits up to 30 s for every URL to answer 2xx.
wait_healthy() {
  for _ in $(seq 300); do
    local ok=1 u
    for u in "$@"; do curl -sf -o /dev/null "$u" || { ok=0; break; }; done
    [ "$ok" = 1 ] && return 0
    sleep 0.1
  done
  echo "servers did not start: $*" >&2
  exit 1
}

# start_simulate PORT LOG [flags...]: `cato simulate` on core 1 at
# 127.0.0.1:PORT, its output in $OUT/LOG.
start_simulate() {
  local port=$1 log=$2; shift 2
  taskset -c 1 bin/cato simulate --listen "127.0.0.1:$port" "$@" >"$OUT/$log" 2>&1 &
  pids+=($!)
}

# start_cato CONFIG STORE LOG [VAR=value...]: `cato serve` on core 0 with
# CONFIG, the environment's VARs and an empty store folder $OUT/STORE, its
# output in $OUT/LOG; its pid is left in CATO_PID.
start_cato() {
  local config=$1 store=$2 log=$3; shift 3
  rm -rf "${OUT:?}/$store"
  env "$@" taskset -c 0 bin/cato serve --config "$config" >"$OUT/$log" 2>&1 &
  CATO_PID=$!
  pids+=("$CATO_PID")
}
