#!/usr/bin/env bash
# Ingest figures for docs/benchmarks.md (issue 22), from another process:
# wrk creates runs (a new external id each, 10 params and 3 metrics, 64
# connections) on an empty store and again at 100,000 runs, and 8 jobs
# append 10,000-point batches of new steps. Each figure sits beside two
# baselines measured in the same run:
#   - bare: a Gin handler that reads the same bodies and answers the same
#     bytes (server/load_ingest_test.go, TestServeIngestBaseline);
#   - raw SQLite: the create's own transaction and audit event run directly
#     on the writer connection, one after another (db/sqlite,
#     TestRawCreateRate); for series, the store's WriteSeries called in the
#     same process (no HTTP), 8 goroutines.
# labreview is the real binary on a fresh data folder, logging at info as
# in production. By default nothing is pinned (the server may use both
# cores, as on a lab server); PIN=1 pins servers to core 0 and wrk to core 1.
#
# Usage: .ci/bench-ingest.sh        (needs wrk, curl, go)
#   BIN=bin/labreview  the binary (default: built here with go build)
#   DURATION=10s ROUNDS=2 CONNS=64 SEED=100000 JOBS=8
#   ONLY=create | ONLY=series   one part
#   OUT=dir            keep the raw wrk output there
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
SEED=${SEED:-100000}
JOBS=${JOBS:-8}
PORT=${PORT:-18710} # labreview; the bare baseline on PORT+1
PASSWORD='violin ocean thunder glacier'

for tool in wrk curl go; do
  command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
done

work=$(mktemp -d)
OUT=${OUT:-$work/out}
mkdir -p "$OUT" "$work/bare"
pids=()
cleanup() {
  touch "$work/bare/stop"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

server_cpu=() client_cpu=()
if [ -n "${PIN:-}" ]; then server_cpu=(taskset -c 0); client_cpu=(taskset -c 1); fi

if [ -z "${BIN:-}" ]; then
  BIN=$work/labreview
  CGO_ENABLED=0 go build -trimpath -tags nomsgpack -ldflags "-X main.version=bench" -o "$BIN" .
fi
go test -c -o "$work/server.test" ./server/
go test -c -o "$work/sqlite.test" ./db/sqlite/

# labreview: a reviewer, signed in, with a runs:read+write API token.
export LABREVIEW_DATA_DIR=$work/data LABREVIEW_SERVER_ADDR=127.0.0.1:$PORT
printf '%s\n' "$PASSWORD" | "$BIN" user create --config /dev/null --email bench@lab.org --name Bench \
  --role reviewer --password-stdin >/dev/null
"${server_cpu[@]}" "$BIN" serve --config /dev/null >"$work/labreview.log" 2>&1 &
pids+=($!)
unset LABREVIEW_DATA_DIR LABREVIEW_SERVER_ADDR
base=http://127.0.0.1:$PORT
for _ in $(seq 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
access=$(curl -sf -X POST --data-urlencode username=bench@lab.org --data-urlencode "password=$PASSWORD" \
  "$base/api/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
token=$(curl -sf -H "Authorization: Bearer $access" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["runs:read","runs:write"]}' "$base/api/tokens" | sed -E 's/.*"token":"([^"]+)".*/\1/')
[ -n "$token" ] || { echo "no API token" >&2; cat "$work/labreview.log" >&2; exit 1; }
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')

# The answers labreview gives, for the bare baseline to repeat.
curl -sf "${auth[@]}" -d '{"project":"sweep-0","external_id":"probe","status":"running","params":{"lr":0.1,"batch":64,"epochs":10,"optimizer":"adamw","momentum":0.9,"weight_decay":0.0001,"dropout":0.1,"seed":1,"layers":[512,256,64],"scheduler":{"name":"cosine","warmup":100}},"metrics":{"loss":0.5,"acc":0.9,"f1":0.8}}' \
  "$base/api/runs" >"$work/bare/create.json"
probe=$(sed -E 's/^\{"id":"([0-9a-f]+)".*/\1/' "$work/bare/create.json" | head -1)
curl -sf "${auth[@]}" -d '{"train/loss":[[0,1.5,1764432000.0]]}' "$base/api/runs/$probe/series" >"$work/bare/series.json"
(cd server && LABREVIEW_LOAD=ingest-bare LABREVIEW_LOAD_DIR=$work/bare LABREVIEW_LOAD_ADDR=127.0.0.1:$((PORT + 1)) \
  exec "${server_cpu[@]}" "$work/server.test" -test.run '^TestServeIngestBaseline$' -test.count=1 >"$work/bare.log" 2>&1) &
pids+=($!)
for _ in $(seq 300); do [ -f "$work/bare/ready" ] && break; sleep 0.1; done
[ -f "$work/bare/ready" ] || { echo "the bare baseline did not start:" >&2; cat "$work/bare.log" >&2; exit 1; }
bare=http://127.0.0.1:$((PORT + 1))

# summary FILE LABEL: one line from wrk's output.
summary() {
  awk -v t="$2" '
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = $2 }
    $1 == "90%" { p90 = $2 }
    $1 == "99%" { p99 = $2 }
    $1 == "Latency" && $2 != "Distribution" { max = $4 }
    /Non-2xx/ { bad = $NF }
    / requests in / { n = $1 }
    END { printf "%-34s %10s req/s  p50 %8s  p90 %8s  p99 %8s  max %8s  (%s requests)%s\n", t, rps, p50, p90, p99, max, n, (bad ? "  NON-2XX: " bad : "") }' "$1"
}

runs_count() { curl -sf -H "Authorization: Bearer $token" "$base/api/runs?limit=1" | sed -E 's/.*"total":([0-9]+).*/\1/'; }

echo "# labreview $("$BIN" version | head -1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "# wrk -t1 -c$CONNS -d$DURATION --latency for creates; -t$JOBS -c$JOBS for series$([ -n "${PIN:-}" ] && echo '; servers on CPU 0, wrk on CPU 1')"

if [[ -z ${ONLY:-} || ${ONLY:-} == create ]]; then
  "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d2s -s .ci/wrk/create-runs.lua "$base" -- "$token" warm >/dev/null
  for r in $(seq "$ROUNDS"); do
    for target in labreview bare; do
      url=$base; [ $target = bare ] && url=$bare
      f="$OUT/create-empty-$target.$r.txt"
      "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s .ci/wrk/create-runs.lua "$url" -- "$token" "e$r" >"$f"
      summary "$f" "creates, empty store: $target ($r)"
    done
  done
  echo "runs stored: $(runs_count)"
  LABREVIEW_RAW_CREATES=5000 "${server_cpu[@]}" "$work/sqlite.test" -test.run '^TestRawCreateRate$' -test.count=1 | grep '^raw' || true

  # Up to SEED runs, as fast as the server takes them.
  while [ "$(runs_count)" -lt "$SEED" ]; do
    left=$((SEED - $(runs_count)))
    "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d"$((left / 1500 + 2))s" -s .ci/wrk/create-runs.lua "$base" -- "$token" "seed$left" >/dev/null
  done
  echo "runs stored: $(runs_count)"
  for r in $(seq "$ROUNDS"); do
    for target in labreview bare; do
      url=$base; [ $target = bare ] && url=$bare
      f="$OUT/create-seeded-$target.$r.txt"
      "${client_cpu[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -s .ci/wrk/create-runs.lua "$url" -- "$token" "s$r" >"$f"
      summary "$f" "creates, $SEED runs: $target ($r)"
    done
  done
  LABREVIEW_RAW_CREATES=5000 LABREVIEW_RAW_SEED=$SEED "${server_cpu[@]}" "$work/sqlite.test" -test.run '^TestRawCreateRate$' \
    -test.count=1 | grep "^raw SQLite, at" || true
fi

# new_run EXTERNAL_ID: a running run of the project "series"; prints its id.
new_run() {
  local answer
  answer=$(curl -sf "${auth[@]}" -d "{\"project\":\"series\",\"external_id\":\"$1\",\"status\":\"running\"}" "$base/api/runs")
  echo "$answer" | sed -E 's/^\{"id":"([0-9a-f]+)".*/\1/'
}

if [[ -z ${ONLY:-} || ${ONLY:-} == series ]]; then
  # Runs for the jobs: 4 each; every request appends 10,000 new steps.
  per=4 windows=${WINDOWS:-40}

  : >"$work/runs.txt"
  for i in $(seq $((JOBS * per))); do
    new_run "job-$i" >>"$work/runs.txt"
  done
  for r in $(seq "$ROUNDS"); do
    for target in labreview bare; do
      url=$base; [ $target = bare ] && url=$bare
      f="$OUT/series-$target.$r.txt"
      "${client_cpu[@]}" wrk -t"$JOBS" -c"$JOBS" -d"$DURATION" --latency -s .ci/wrk/series.lua "$url" -- \
        "$token" "$work/runs.txt" "$per" "$windows" >"$f"
      summary "$f" "series, 10,000-point batches: $target ($r)"
      awk '/Requests\/sec/ { printf "  = %.0f points/s\n", $2 * 10000 }' "$f"
    done
    # New runs for the next round, so every batch is new steps again.
    : >"$work/runs.txt"
    for i in $(seq $((JOBS * per))); do
      new_run "job-$r-$i" >>"$work/runs.txt"
    done
  done
  LABREVIEW_RAW_SERIES=200 "${server_cpu[@]}" "$work/sqlite.test" -test.run '^TestRawSeriesRate$' -test.count=1 | grep '^raw' || true
fi
echo "# load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; RSS of labreview $(awk '/^VmHWM/ {print $2 " " $3 " (peak)"}' /proc/"${pids[0]}"/status)"
