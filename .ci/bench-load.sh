#!/usr/bin/env bash
# wrk figures for docs/benchmarks.md: GET /api/me and the main JS bundle
# (gzip) through labreview, against bare baselines in the same run. The
# servers (server/load_test.go, TestServeForLoad) are pinned to core 0 and
# wrk to core 1, so client and server do not share a core. Targets take
# turns, ROUNDS times, so background noise falls on every side alike.
#
# Usage: .ci/bench-load.sh            (needs wrk and a built frontend/dist)
#   DURATION=10s ROUNDS=2 CONNS=64 GCTRACE=1 (labreview's gctrace to $OUT/gctrace.txt)
#   ONLY=me or ONLY=asset runs one group; OUT=dir keeps the raw wrk output there.
#   COMPARE=path/to/server.test adds that build of the real handler (made with
#   `go test -c ./server/` on another commit) as the targets me/compare and
#   asset/compare, for before/after figures in one run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18610}     # labreview; the baselines use PORT+10 .. PORT+12
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
[ -f frontend/dist/index.html ] || { echo "frontend/dist not built: make build" >&2; exit 1; }

work=$(mktemp -d)
OUT=${OUT:-$work/out}
mkdir -p "$OUT" "$work/labreview" "$work/bare"
pids=()
cleanup() {
  for d in "$work"/*/; do touch "$d/stop"; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

go test -c -o "$work/server.test" ./server/

start() { # mode dir port [GODEBUG [binary]]
  (cd server && LABREVIEW_LOAD=$1 LABREVIEW_LOAD_DIR=$2 LABREVIEW_LOAD_ADDR=127.0.0.1:$3 LABREVIEW_LOAD_MAX=30m \
    GODEBUG=${4:-} taskset -c "$SERVER_CPU" "${5:-$work/server.test}" -test.run '^TestServeForLoad$' -test.count=1 \
    >"$2.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 600); do [ -f "$2/ready" ] && return; sleep 0.1; done
  echo "$1 server did not start:" >&2; cat "$2.log" >&2; exit 1
}
start labreview "$work/labreview" "$PORT" "$([ -n "${GCTRACE:-}" ] && echo gctrace=1)"
start bare "$work/bare" "$((PORT + 10))"
if [ -n "${COMPARE:-}" ]; then
  mkdir -p "$work/compare"
  start labreview "$work/compare" "$((PORT + 20))" "" "$(realpath "$COMPARE")"
fi

asset=$(cat "$work/labreview/asset")
declare -A url header
url[me/labreview]=http://127.0.0.1:$PORT/api/me
header[me/labreview]="Authorization: Bearer $(cat "$work/labreview/token")"
url[me/bare-hs256]=http://127.0.0.1:$((PORT + 10))/api/me
header[me/bare-hs256]="Authorization: Bearer $(cat "$work/bare/token-hs256")"
url[me/bare-eddsa]=http://127.0.0.1:$((PORT + 11))/api/me
header[me/bare-eddsa]="Authorization: Bearer $(cat "$work/bare/token-eddsa")"
url[asset/labreview]=http://127.0.0.1:$PORT$asset
header[asset/labreview]="Accept-Encoding: gzip"
url[asset/bare-static]=http://127.0.0.1:$((PORT + 12))$asset
header[asset/bare-static]="Accept-Encoding: gzip"
all=(me/labreview me/bare-hs256 me/bare-eddsa asset/labreview asset/bare-static)
if [ -n "${COMPARE:-}" ]; then
  url[me/compare]=http://127.0.0.1:$((PORT + 20))/api/me
  header[me/compare]="Authorization: Bearer $(cat "$work/compare/token")"
  url[asset/compare]=http://127.0.0.1:$((PORT + 20))$asset
  header[asset/compare]="Accept-Encoding: gzip"
  all=(me/labreview me/compare me/bare-hs256 me/bare-eddsa asset/labreview asset/compare asset/bare-static)
fi
targets=()
for t in "${all[@]}"; do
  [[ $t == ${ONLY:-}* ]] && targets+=("$t")
done

for t in "${targets[@]}"; do # warm-up: first token verification, page faults, connections
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "${header[$t]}" "${url[$t]}" >/dev/null
done

echo "wrk -t1 -c$CONNS -d$DURATION --latency; server on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; asset $asset"
printf '%-20s %5s %10s %9s %9s %12s\n' target round req/s p50 p99 bytes/req
for r in $(seq "$ROUNDS"); do
  for t in "${targets[@]}"; do
    f="$OUT/${t//\//_}.$r.txt"
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "${header[$t]}" "${url[$t]}" >"$f"
    awk -v t="$t" -v r="$r" '
      /Requests\/sec/ {rps=$2}
      /Transfer\/sec/ {tps=$2}
      $1=="50%" {p50=$2} $1=="99%" {p99=$2}
      / requests in / {n=$1}
      /Non-2xx/ {bad=$NF}
      function bytes(s) { m=1; if (s ~ /KB$/) m=1024; else if (s ~ /MB$/) m=1048576; else if (s ~ /GB$/) m=1073741824; sub(/[KMG]?B$/, "", s); return s*m }
      END {
        printf "%-20s %5s %10s %9s %9s %12d%s\n", t, r, rps, p50, p99, bytes(tps)/rps, (bad ? "  NON-2XX: " bad : "")
      }' "$f"
  done
done
if [ -n "${GCTRACE:-}" ]; then
  grep '^gc ' "$work/labreview.log" >"$OUT/gctrace.txt" || true
  echo "labreview GC cycles during the run: $(wc -l <"$OUT/gctrace.txt") (trace in $OUT/gctrace.txt)"
fi
