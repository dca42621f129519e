#!/usr/bin/env bash
# What tracing adds: the load of bench/overhead.sh (non-streamed chat
# completions at 2,000 req/s to `cato simulate` at 0 ms) straight to the
# simulator, then through Cato with tracing off, on at sample ratio 0.01
# and on at 1.0, exporting to a local OTLP/HTTP sink. Cato is pinned to
# core 0; the simulator, the sink and the load generator share core 1.
#
#   bench/tracing.sh [DURATION]     (default 15s per run)
#
# Prints p50/p99 per run, Cato's CPU time per request (user + system, from
# /proc: unlike latency, it holds on a busy machine), and what each
# tracing setting adds to tracing off; the JSON reports land in
# bench/out/. RATE overrides the 2,000 req/s.
set -euo pipefail
DUR=${1:-15s}
RATE=${RATE:-2000}
source "$(dirname "$0")/lib.sh"

start_simulate 9101 simulate.log
# The OTLP sink accepts every export and counts the bytes.
taskset -c 1 python3 - >"$OUT/otlp-sink.log" 2>&1 <<'PY' &
import http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    n = 0
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        H.n += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
        print(f"export {H.n}: {len(body)} bytes", flush=True)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
S(("127.0.0.1", 9103), H).serve_forever()
PY
pids+=($!)

load() { # name url
  taskset -c 1 bin/cato loadtest --url "$2" --workload bench/workloads/overhead.yaml \
    --duration "$DUR" --ramp 2s --json "$OUT/$1.json" --rate "$RATE" >"$OUT/$1.txt" 2>/dev/null
}
run_cato() { # name env...
  local name=$1; shift
  start_cato bench/overhead.yaml overhead-store "serve-$name.log" "$@"
  local pid=$CATO_PID
  wait_healthy http://127.0.0.1:9102/api/admin/cato/health
  local before after
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  load "$name" http://127.0.0.1:9102
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  echo "$(( (after - before) * 1000000 / $(getconf CLK_TCK) ))" >"$OUT/$name.cpu_us"
  kill -TERM "$pid"; wait "$pid" || true
}
wait_healthy http://127.0.0.1:9101/healthz

load tracing-direct http://127.0.0.1:9101
run_cato tracing-off
run_cato tracing-0.01 CATO_TELEMETRY__OTLP_ENDPOINT=http://127.0.0.1:9103 CATO_TELEMETRY__SAMPLE_RATIO=0.01
run_cato tracing-1.0 CATO_TELEMETRY__OTLP_ENDPOINT=http://127.0.0.1:9103 CATO_TELEMETRY__SAMPLE_RATIO=1

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def r(n): return json.load(open(f"{out}/{n}.json"))
off = r("tracing-off")["latency_ms"]
for name in ("tracing-direct", "tracing-off", "tracing-0.01", "tracing-1.0"):
    d = r(name); l = d["latency_ms"]
    extra = "" if name in ("tracing-direct", "tracing-off") else f"  added to off: p50 {l['p50']-off['p50']:+.3f} ms, p99 {l['p99']-off['p99']:+.3f} ms"
    cpu = ""
    if name != "tracing-direct":
        cpu = f"  cato cpu {int(open(f'{out}/{name}.cpu_us').read()) / max(d['ok'], 1):.0f} us/req"
    print(f"{name:15} {d['ok_rps']:7.0f} req/s ok {d['ok']}/{d['sent']}  p50 {l['p50']:.3f} ms  p99 {l['p99']:.3f} ms{cpu}{extra}")
PY
echo "OTLP exports received: $(grep -c export "$OUT/otlp-sink.log" || true)"
