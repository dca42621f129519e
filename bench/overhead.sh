#!/usr/bin/env bash
# Cato's overhead: the same load straight to `cato simulate` (0 ms latency)
# and through Cato to it, in one run. Cato is pinned to core 0; the
# simulator and the load generator share core 1 in both runs.
#
#   bench/overhead.sh [DURATION] [RATE]     (default 20s per run, 2000 req/s)
#
# Prints added latency p50/p99 and the throughput ratio; the JSON reports
# land in bench/out/.
set -euo pipefail
DUR=${1:-20s}
RATE=${2:-2000}
source "$(dirname "$0")/lib.sh"

start_simulate 9101 simulate.log
start_cato bench/overhead.yaml overhead-store serve.log
wait_healthy http://127.0.0.1:9102/api/admin/cato/health http://127.0.0.1:9101/healthz

load() { # name url mode-flags...
  local name=$1 url=$2; shift 2
  taskset -c 1 bin/cato loadtest --url "$url" --workload bench/workloads/overhead.yaml \
    --duration "$DUR" --ramp 2s --json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>/dev/null
}
load rate-direct http://127.0.0.1:9101 --rate "$RATE"
load rate-cato   http://127.0.0.1:9102 --rate "$RATE"
load closed-direct http://127.0.0.1:9101 --concurrency 64
load closed-cato   http://127.0.0.1:9102 --concurrency 64

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def r(n): return json.load(open(f"{out}/{n}.json"))
for mode in ("rate", "closed"):
    d, c = r(f"{mode}-direct"), r(f"{mode}-cato")
    dl, cl = d["latency_ms"], c["latency_ms"]
    print(f"{mode:6}  direct: {d['ok_rps']:8.0f} req/s ok {d['ok']}/{d['sent']}  p50 {dl['p50']:.3f} ms  p99 {dl['p99']:.3f} ms")
    print(f"{'':6}  cato:   {c['ok_rps']:8.0f} req/s ok {c['ok']}/{c['sent']}  p50 {cl['p50']:.3f} ms  p99 {cl['p99']:.3f} ms")
    print(f"{'':6}  added p50 {cl['p50']-dl['p50']:+.3f} ms, added p99 {cl['p99']-dl['p99']:+.3f} ms, throughput ratio {c['ok_rps']/d['ok_rps']:.2f}")
PY
