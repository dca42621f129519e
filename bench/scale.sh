#!/usr/bin/env bash
# The scale proof of issue 8, each scenario run direct to `cato simulate`
# and through one Cato process, in the same script. Cato is pinned to core
# 0; the simulator and the load generator share core 1.
#
#   bench/scale.sh concurrency N [LATENCY]
#                                       S-concurrency: N users in flight, the simulator answering after
#                                       LATENCY (default 2s). Closed loop needs N/LATENCY req/s: on
#                                       2 cores the direct baseline tops out near 3,500 req/s, so
#                                       25,000 and 50,000 are run with LATENCY 15s and 20s.
#   bench/scale.sh overhead [RATE]      S-overhead: fixed RATE req/s (default 5000), simulator at 0 ms
#   bench/scale.sh h1 [N] [LATENCY]     N (default 10,000) HTTP/1.1 users in flight against a LATENCY
#                                       (default 2s) model, HTTP/1.1 upstream and Cato's default limits
#                                       (bench/scale-h1.yaml), from 20 source addresses (500 users each at
#                                       10,000, under the default max_connections_per_ip); prints how the
#                                       failures were answered
#   bench/scale.sh stream [N] [TPS] [TOKENS]
#                                       S-stream: N concurrent streams of TOKENS chunks (default 200) at TPS
#                                       tokens/s (default 1000 streams at 10 tokens/s: 10,000 chunks/s in all),
#                                       for STREAM_DUR (default 45s)
#   bench/scale.sh procs N P [LATENCY]  as concurrency, but through P Cato processes sharing port 9202
#                                       with server.reuse_port (SO_REUSEPORT), each on its own embedded
#                                       store, all on core 0; prints each process's peak RSS
#
# MEMLIMIT sets Cato's GOMEMLIMIT (default 1800MiB).
#
# Except in h1, clients and upstreams speak HTTP/2 cleartext (h2c), so one process holds
# tens of thousands of requests within this machine's 20,000-file limit.
# Reports land in bench/out/; a summary is printed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

start() { # simulate-flags...
  start_simulate 9201 simulate.log "$@"
  # GOMEMLIMIT keeps the heap of 50,000 requests in flight within 2 GiB
  # (MEMLIMIT overrides it: a lower one shows what the requests need).
  start_cato "${CONFIG:-bench/scale.yaml}" scale-store serve.log "GOMEMLIMIT=${MEMLIMIT:-1800MiB}"
  wait_healthy http://127.0.0.1:9202/api/admin/cato/health http://127.0.0.1:9201/healthz
}

load() { # name url flags...
  local name=$1 url=$2; shift 2
  taskset -c 1 bin/cato loadtest --url "$url" ${H2C---h2c} --json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err" || true
}

summary() { # name [rss-kib]
  python3 - "$OUT/$1.json" "$1" "${2:-}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); name = sys.argv[2]; rss = sys.argv[3]
l = d["latency_ms"]
line = f"{name:28} sent {d['sent']:7} ok {d['success_rate']*100:6.2f}%  {d['ok_rps']:8.0f} req/s  p50 {l['p50']:9.1f} ms  p99 {l['p99']:9.1f} ms"
if d.get("ttfb_ms"): line += f"  ttfb p99 {d['ttfb_ms']['p99']:.1f} ms"
if d.get("inter_chunk_ms"): line += f"  gap p99 {d['inter_chunk_ms']['p99']:.2f} ms"
if rss: line += f"  cato peak RSS {int(rss)/1024:.0f} MiB"
print(line)
PY
}

peak_rss() { awk '/VmHWM/ {print $2}' "/proc/$CATO_PID/status"; }

# start_procs P simulate-flags...: the simulator, then P Cato processes on
# one port (SO_REUSEPORT); the kernel spreads the generator's connections
# over them.
start_procs() {
  local p=$1; shift
  start_simulate 9201 simulate.log "$@"
  CATO_PIDS=()
  for i in $(seq "$p"); do
    rm -rf "$OUT/scale-store-$i"
    GOMEMLIMIT=${MEMLIMIT:-1800MiB} CATO_SERVER__REUSE_PORT=true CATO_SERVER__ADMIN_LISTEN="127.0.0.1:$((9210 + i))" CATO_STORE="embedded://$OUT/scale-store-$i" \
      taskset -c 0 bin/cato serve --config bench/scale.yaml >"$OUT/serve-$i.log" 2>&1 &
    pids+=($!)
    CATO_PIDS+=($!)
  done
  # Every process must be up, not just the first to answer on the shared port.
  local urls=(http://127.0.0.1:9201/healthz)
  for i in $(seq "$p"); do urls+=("http://127.0.0.1:$((9210 + i))/api/admin/cato/health"); done
  wait_healthy "${urls[@]}"
}

case "${1:-concurrency}" in
concurrency)
  n=${2:-10000} lat=${3:-2s}
  secs=${lat%s}
  start --latency "$lat"
  # Ramp over one latency so that arrivals are spread; run three latencies.
  load "conc-$n-direct" http://127.0.0.1:9201 --workload bench/workloads/overhead.yaml --concurrency "$n" --ramp "$lat" --duration "$((secs * 3))s" --timeout 120s
  load "conc-$n-cato" http://127.0.0.1:9202 --workload bench/workloads/overhead.yaml --concurrency "$n" --ramp "$lat" --duration "$((secs * 3))s" --timeout 120s
  summary "conc-$n-direct"; summary "conc-$n-cato" "$(peak_rss)" ;;
overhead)
  rate=${2:-5000}
  start
  load "rate-$rate-direct" http://127.0.0.1:9201 --workload bench/workloads/overhead.yaml --rate "$rate" --ramp 2s --duration 15s
  load "rate-$rate-cato" http://127.0.0.1:9202 --workload bench/workloads/overhead.yaml --rate "$rate" --ramp 2s --duration 15s
  summary "rate-$rate-direct"; summary "rate-$rate-cato" "$(peak_rss)" ;;
h1)
  n=${2:-10000} lat=${3:-2s}
  secs=${lat%s}
  CONFIG=bench/scale-h1.yaml H2C= start --latency "$lat"
  H2C= load "h1-$n-direct" http://127.0.0.1:9201 --source-addrs 20 --workload bench/workloads/overhead.yaml --concurrency "$n" --ramp "$lat" --duration "$((secs * 3))s" --timeout 120s
  H2C= load "h1-$n-cato" http://127.0.0.1:9202 --source-addrs 20 --workload bench/workloads/overhead.yaml --concurrency "$n" --ramp "$lat" --duration "$((secs * 3))s" --timeout 120s
  summary "h1-$n-direct"; summary "h1-$n-cato" "$(peak_rss)"
  for r in direct cato; do echo "h1-$n-$r failures: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("errors"), d.get("status"))' "$OUT/h1-$n-$r.json")"; done
  grep -o 'dial[^"]*too many open files' "$OUT/serve.log" | sort | uniq -c || echo "no failed upstream dials in serve.log"
  echo "cato_shed_total: $(curl -s http://127.0.0.1:9202/metrics | grep '^cato_shed_total' | tr '\n' ' ')" ;;
stream)
  n=${2:-1000} tps=${3:-10} tokens=${4:-200}
  start --answer-tokens "$tokens" --tps "$tps"
  load "stream-$n-direct" http://127.0.0.1:9201 --workload bench/workloads/stream.yaml --concurrency "$n" --ramp 5s --duration "${STREAM_DUR:-45s}" --timeout 120s
  load "stream-$n-cato" http://127.0.0.1:9202 --workload bench/workloads/stream.yaml --concurrency "$n" --ramp 5s --duration "${STREAM_DUR:-45s}" --timeout 120s
  summary "stream-$n-direct"; summary "stream-$n-cato" "$(peak_rss)" ;;
procs)
  n=${2:-50000} p=${3:-2} lat=${4:-2s}
  secs=${lat%s}
  start_procs "$p" --latency "$lat"
  load "procs-$n-direct" http://127.0.0.1:9201 --workload bench/workloads/overhead.yaml --concurrency "$n" --ramp "$lat" --duration "$((secs * 3))s" --timeout 120s
  load "procs-$n-$p-cato" http://127.0.0.1:9202 --workload bench/workloads/overhead.yaml --concurrency "$n" --ramp "$lat" --duration "$((secs * 3))s" --timeout 120s
  summary "procs-$n-direct"
  total=0
  i=0
  for pid in "${CATO_PIDS[@]}"; do
    i=$((i + 1))
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "$rss" = 0 ] && echo "  cato process $i (pid $pid) is gone: see $OUT/serve-$i.log"
    total=$((total + rss))
    served=$(curl -s "http://127.0.0.1:$((9210 + i))/metrics" | awk '/^cato_requests_total\{.*code="200"/ {s += $2} END {print s + 0}')
    echo "  cato process $i: $served requests answered 200, peak RSS $((rss / 1024)) MiB"
  done
  summary "procs-$n-$p-cato" "$total"
  echo "  (peak RSS above: the sum over the $p processes)" ;;
*) echo "usage: bench/scale.sh concurrency|overhead|h1|stream|procs [args]" >&2; exit 2 ;;
esac
