#!/usr/bin/env bash
# Connection flood (issue 14): health and ordinary clients' chat latency,
# quiet and then while N slow clients each send a POST body one byte every
# 2 s. Cato (default server protections, bench/flood.yaml) is pinned to
# core 0; the simulator and bench/flood share core 1. Each process may
# open 20,000 files, so the slow connections come from two processes of
# N/2 each, from 200 loopback source addresses (127.0.0.2 … 127.0.0.201).
#
#   [CATO_SERVER__…=…] bench/flood.sh [N] [LATENCY] [CONTENT_LENGTH]
#         N slow connections (default 20000), the simulator answering after
#         LATENCY (default 0s), each slow POST announcing CONTENT_LENGTH bytes
#         (default 1048576; Cato takes body budget only as bytes arrive)
#   CATO_* variables reach Cato's configuration, e.g.
#   CATO_SERVER__MAX_CONNECTIONS=2000 to make the connection cap bind at a
#   small N, CATO_SERVER__SHED_SLOW_CONNECTIONS=true to shed the slowest
#   connection at the cap instead of refusing the new one.
#
# Quiet phase 10 s; flood: 10 s to build up, then 20 s measured. Prints
# quiet vs flood p50/p99 and failures of health on the client listener
# (127.0.0.1:9302), health on the admin listener (server.admin_listen,
# 127.0.0.1:9303) and chat, each against the aim (health p99 under
# 100 ms, chat p99 within 2× of quiet); what became of the slow
# connections; Cato's open files; and cato_shed_total by reason, read
# from the admin listener before and after the flood. The output lands in
# bench/out/.
set -euo pipefail
N=${1:-20000}
LAT=${2:-0s}
CL=${3:-1048576}
source "$(dirname "$0")/lib.sh"
go build -o bin/flood ./bench/flood

start_simulate 9301 flood-simulate.log --latency "$LAT"
start_cato bench/flood.yaml flood-store flood-serve.log
for _ in $(seq 100); do
  curl -sf -o /dev/null http://127.0.0.1:9302/api/admin/cato/health && curl -sf -o /dev/null http://127.0.0.1:9303/api/admin/cato/health &&
    curl -sf -o /dev/null http://127.0.0.1:9301/healthz && break
  sleep 0.1
done

shed() { curl -s --max-time 5 http://127.0.0.1:9303/metrics | { grep '^cato_shed_total' || true; } | sed 's/cato_shed_total{reason="\([a-z_]*\)"}/\1/' | tr '\n' ' '; }
SHED_BEFORE=$(shed)

half=$((N / 2))
# The second process opens its half when the quiet phase ends (10 s) and
# holds it until the measurement is over (10 s build-up + 20 s).
taskset -c 1 bin/flood -slow-only -conns "$((N - half))" -sources 100 -source-offset 100 -content-length "$CL" -wait 10s -hold 31s \
  >"$OUT/flood-second.txt" 2>&1 &
SECOND=$!
pids+=($SECOND)
taskset -c 1 bin/flood -conns "$half" -sources 100 -content-length "$CL" -pid "$CATO_PID" -quiet 10s -settle 10s -measure 20s \
  -admin-url http://127.0.0.1:9303 | tee "$OUT/flood.txt"
wait "$SECOND" || true
{
  echo "slow connections (second process): $(cat "$OUT/flood-second.txt")"
  echo "cato_shed_total before the flood: ${SHED_BEFORE:-none}"
  echo "cato_shed_total after the flood:  $(shed)"
  echo "cato CPU time over the whole run: $(awk -v t="$(getconf CLK_TCK)" '{printf "%.1f s", ($14 + $15) / t}' "/proc/$CATO_PID/stat")"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT/flood.txt"
