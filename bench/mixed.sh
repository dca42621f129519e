#!/usr/bin/env bash
# S-mixed: realistic traffic (bench/workloads/mixed.yaml: routing, sessions,
# cache, streaming, three tenants) through one Cato process with simulated
# tiers, at increasing fixed rates; reports each rate's p99 and which is the
# highest that keeps p99 under 1 s. Cato on core 0, the load generator on
# core 1.
#
#   bench/mixed.sh [RATE...]     (default 100 200 400 800)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
go build -o bin/cato ./cmd/cato
export TEAM_A_KEY=bench-a TEAM_B_KEY=bench-b TEAM_C_KEY=bench-c

best=0
for rate in "${@:-100 200 400 800}"; do
  rm -rf "$OUT/mixed-store"
  taskset -c 0 bin/cato serve --config bench/mixed.yaml >"$OUT/mixed-serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:9302/api/admin/cato/health && break; sleep 0.1; done
  taskset -c 1 bin/cato loadtest --url http://127.0.0.1:9302 --workload bench/workloads/mixed.yaml \
    --rate "$rate" --ramp 3s --duration 20s --timeout 30s --json "$OUT/mixed-$rate.json" >"$OUT/mixed-$rate.txt" 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  p99=$(python3 - "$OUT/mixed-$rate.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); l = d["latency_ms"]; c = d.get("cache") or {}
print(f"{l['p99']:.1f}")
print(f"rate {sys.argv[1].split('-')[-1][:-5]:>5}/s  ok {d['success_rate']*100:6.2f}%  {d['ok_rps']:7.0f} req/s  p50 {l['p50']:7.1f} ms  p99 {l['p99']:7.1f} ms  cache hit rate {c.get('hit_rate', 0)*100:5.1f}%", file=sys.stderr)
PY
)
  if python3 -c "import sys; sys.exit(0 if float('$p99') < 1000 else 1)"; then best=$rate; fi
done
echo "highest rate with p99 under 1 s: ${best} req/s"
