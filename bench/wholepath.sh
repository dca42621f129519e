#!/usr/bin/env bash
# The whole path's overhead: the same open-loop load straight to `cato
# simulate` (0 ms) and through Cato with the router, a semantic-cache
# lookup that misses (sentence encoder, embedded store) and session turns
# on the embedded store (bench/wholepath.yaml, bench/workloads/wholepath.yaml).
# Cato is pinned to core 0; the simulator and the load generator share
# core 1. Direct and Cato alternate RUNS times; prints each pair and the
# medians of the added p50 / p99.
#
#   bench/wholepath.sh [RATE] [DURATION] [RUNS]     (default 1000 15s 3)
set -euo pipefail
RATE=${1:-1000} DUR=${2:-15s} RUNS=${3:-3}
source "$(dirname "$0")/lib.sh"

start_simulate 9401 wholepath-simulate.log
start_cato bench/wholepath.yaml wholepath-store wholepath-serve.log
wait_healthy http://127.0.0.1:9402/api/admin/cato/health http://127.0.0.1:9401/healthz

for i in $(seq "$RUNS"); do
  for side in direct cato; do
    url=http://127.0.0.1:9401
    [ "$side" = cato ] && url=http://127.0.0.1:9402
    taskset -c 1 bin/cato loadtest --url "$url" --workload bench/workloads/wholepath.yaml \
      --rate "$RATE" --ramp 2s --duration "$DUR" --seed "$i" --json "$OUT/wholepath-$side-$i.json" \
      >"$OUT/wholepath-$side-$i.txt" 2>"$OUT/wholepath-$side-$i.err"
  done
done

python3 - "$OUT" "$RUNS" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
a50, a99 = [], []
for i in range(1, runs + 1):
    d = json.load(open(f"{out}/wholepath-direct-{i}.json"))
    c = json.load(open(f"{out}/wholepath-cato-{i}.json"))
    dl, cl = d["latency_ms"], c["latency_ms"]
    a50.append(cl["p50"] - dl["p50"]); a99.append(cl["p99"] - dl["p99"])
    print(f"run {i}: direct ok {d['ok']}/{d['sent']} p50 {dl['p50']:.3f} p99 {dl['p99']:.3f} ms | "
          f"cato ok {c['ok']}/{c['sent']} p50 {cl['p50']:.3f} p99 {cl['p99']:.3f} ms | "
          f"added p50 {a50[-1]:+.3f} p99 {a99[-1]:+.3f} ms")
print(f"median added p50 {statistics.median(a50):+.3f} ms, added p99 {statistics.median(a99):+.3f} ms")
PY
curl -s http://127.0.0.1:9402/metrics | grep -E '^cato_cache_requests_total|^cato_requests_total' | head -20 || true
