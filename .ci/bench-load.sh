#!/usr/bin/env bash
# wrk figures for docs/benchmarks.md: GET /api/me and the main JS bundle
# (gzip) through labreview, against bare baselines in the same run.
#
# labreview is the real binary (BIN) serving a fresh embedded store with one
# viewer, logging at the default level as in production. The baselines run
# in one process without a store (server/load_test.go, TestServeForLoad):
# bare Gin + golang-jwt HS256 and EdDSA answering /api/me from the token's
# claims, and a net/http handler writing the bundle's gzip bytes from memory
# with the same headers. Servers are pinned to core 0 and wrk to core 1, so
# client and server do not share a core. Targets take turns, ROUNDS times,
# so background noise falls on every side alike.
#
# Usage: BIN=bin/labreview .ci/bench-load.sh     (run by `make bench`; needs wrk and curl)
#   DURATION=10s ROUNDS=2 CONNS=64
#   GCTRACE=1           labreview's GC trace to $OUT/gctrace.txt
#   ONLY=me | ONLY=asset  one group of targets
#   COMPARE=path/to/labreview  another build (say, of main) as me/compare and
#                       asset/compare, for before/after figures in one run
#   OUT=dir             keep the raw wrk output there
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/labreview}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
CONNS=${CONNS:-64}
PORT=${PORT:-18610} # labreview; baselines on PORT+10..12, COMPARE on PORT+20
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PASSWORD='violin ocean thunder glacier'

for tool in wrk curl taskset; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y $tool" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "$BIN not built: make build" >&2; exit 1; }
[ -f frontend/dist/index.html ] || { echo "frontend/dist not built: make build" >&2; exit 1; }

work=$(mktemp -d)
OUT=${OUT:-$work/out}
mkdir -p "$OUT" "$work/bare"
pids=()
cleanup() { # every server is this script's child (exec, not a subshell): stop each by its pid
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_labreview NAME BINARY PORT [GODEBUG]: serve, create a viewer, sign in;
# the access token goes to $work/NAME.token.
start_labreview() {
  local name=$1 bin=$2 port=$3
  export LABREVIEW_DATA_DIR=$work/$name LABREVIEW_SERVER_ADDR=127.0.0.1:$port
  printf '%s\n' "$PASSWORD" | "$bin" user create --config /dev/null --email bench@lab.org --name Bench \
    --role viewer --password-stdin >/dev/null
  GODEBUG=${4:-} taskset -c "$SERVER_CPU" "$bin" serve --config /dev/null >"$work/$name.log" 2>&1 &
  pids+=($!)
  unset LABREVIEW_DATA_DIR LABREVIEW_SERVER_ADDR
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  curl -sf -X POST --data-urlencode username=bench@lab.org --data-urlencode "password=$PASSWORD" \
    "http://127.0.0.1:$port/api/auth/login" | sed -E 's/.*"access_token":"([^"]+)".*/\1/' >"$work/$name.token"
  [ -s "$work/$name.token" ] || { echo "$name: no access token" >&2; cat "$work/$name.log" >&2; exit 1; }
}

go test -c -o "$work/server.test" ./server/
(cd server && LABREVIEW_LOAD=bare LABREVIEW_LOAD_DIR=$work/bare LABREVIEW_LOAD_ADDR=127.0.0.1:$((PORT + 10)) \
  LABREVIEW_LOAD_MAX=30m exec taskset -c "$SERVER_CPU" "$work/server.test" -test.run '^TestServeForLoad$' -test.count=1 \
  >"$work/bare.log" 2>&1) &
pids+=($!)
start_labreview labreview "$BIN" "$PORT" "$([ -n "${GCTRACE:-}" ] && echo gctrace=1)"
[ -n "${COMPARE:-}" ] && start_labreview compare "$COMPARE" "$((PORT + 20))" "$([ -n "${GCTRACE:-}" ] && echo gctrace=1)"
for _ in $(seq 600); do [ -f "$work/bare/ready" ] && break; sleep 0.1; done
[ -f "$work/bare/ready" ] || { echo "baselines did not start:" >&2; cat "$work/bare.log" >&2; exit 1; }

# The main bundle: the module script index.html loads.
asset=$(curl -sf "http://127.0.0.1:$PORT/" | sed -nE 's/.*<script[^>]+src="(\/assets\/[^"]+\.js)".*/\1/p' | head -1)
[ "$asset" = "$(cat "$work/bare/asset")" ] || { echo "$BIN serves $asset, frontend/dist has $(cat "$work/bare/asset"): make build" >&2; exit 1; }

declare -A url header
add() { url[$1]=$2; header[$1]=$3; }
add me/labreview "http://127.0.0.1:$PORT/api/me" "Authorization: Bearer $(cat "$work/labreview.token")"
add me/bare-hs256 "http://127.0.0.1:$((PORT + 10))/api/me" "Authorization: Bearer $(cat "$work/bare/token-hs256")"
add me/bare-eddsa "http://127.0.0.1:$((PORT + 11))/api/me" "Authorization: Bearer $(cat "$work/bare/token-eddsa")"
add asset/labreview "http://127.0.0.1:$PORT$asset" "Accept-Encoding: gzip"
add asset/bare-static "http://127.0.0.1:$((PORT + 12))$asset" "Accept-Encoding: gzip"
all=(me/labreview me/bare-hs256 me/bare-eddsa asset/labreview asset/bare-static)
if [ -n "${COMPARE:-}" ]; then
  add me/compare "http://127.0.0.1:$((PORT + 20))/api/me" "Authorization: Bearer $(cat "$work/compare.token")"
  add asset/compare "http://127.0.0.1:$((PORT + 20))$asset" "Accept-Encoding: gzip"
  all=(me/labreview me/compare me/bare-hs256 me/bare-eddsa asset/labreview asset/compare asset/bare-static)
fi
targets=()
for t in "${all[@]}"; do [[ $t == ${ONLY:-}* ]] && targets+=("$t"); done

for t in "${targets[@]}"; do # warm-up: first token verification, page faults, connections
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d1s -H "${header[$t]}" "${url[$t]}" >/dev/null
done

echo "wrk -t1 -c$CONNS -d$DURATION --latency; servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU; $BIN; asset $asset"
printf '%-18s %5s %10s %9s %9s %9s %10s\n' target round req/s p50 p99 max bytes/req
for r in $(seq "$ROUNDS"); do
  for t in "${targets[@]}"; do
    f="$OUT/${t//\//_}.$r.txt"
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "${header[$t]}" "${url[$t]}" >"$f"
    awk -v t="$t" -v r="$r" '
      function bytes(s, m) { m = 1; if (s ~ /KB$/) m = 1024; else if (s ~ /MB$/) m = 1048576; else if (s ~ /GB$/) m = 1073741824
        sub(/[KMG]?B$/, "", s); return s * m }
      /Requests\/sec/ { rps = $2 }
      /Transfer\/sec/ { tps = $2 }
      $1 == "Latency" && $2 != "Distribution" { max = $4 }
      $1 == "50%" { p50 = $2 }
      $1 == "99%" { p99 = $2 }
      /Non-2xx/ { bad = $NF }
      END { printf "%-18s %5s %10s %9s %9s %9s %10d%s\n", t, r, rps, p50, p99, max, bytes(tps) / rps, (bad ? "  NON-2XX: " bad : "") }' "$f"
  done
done
if [ -n "${GCTRACE:-}" ]; then
  for name in labreview compare; do
    [ -f "$work/$name.log" ] || continue
    grep '^gc ' "$work/$name.log" >"$OUT/gctrace-$name.txt" || true
    # "gc N @t s p%: stw1+mark+stw2 ms clock, ..., a->b->c MB, ...": pauses and live heap.
    awk -v name="$name" '{ split($5, c, "+"); stw = c[1] + c[3]; if (stw > max) max = stw; split($11, h, "->"); live = h[3] }
      END { printf "%s: %d GC cycles, longest stop-the-world pause %.2f ms, live heap at the end %s MB (%s)\n",
            name, NR, max, live, FILENAME }' "$OUT/gctrace-$name.txt"
  done
fi
