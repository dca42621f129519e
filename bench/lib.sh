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
