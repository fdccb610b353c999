#!/usr/bin/env bash
# Refresh-token rotations per second through the HTTP API, for
# docs/benchmarks.md: the real binary on a fresh embedded database, pinned to
# core 0; a Go load client (server/refresh_load_test.go) pinned to core 1
# signs in 64 sessions and rotates each in a closed loop.
# Usage: BIN=bin/labreview .ci/bench-refresh.sh   (run by `make bench`)
#   DURATION=10s SESSIONS=64 ROUNDS=3
#   SERVER_CPU=0 CLIENT_CPU=1   cores for taskset (SERVER_CPU=0,1 CLIENT_CPU=0,1: no pinning)
#   SERVER_PROCS, SERVER_GOGC, SERVER_GODEBUG, SERVER_LOG_LEVEL   the server's GOMAXPROCS, GOGC (unset: labreview's
#     own default, 400), GODEBUG, log level
#   CLIENT_GODEBUG, CLIENT_GOGC   the load client's GODEBUG and GOGC
#   KEEP_LOG=file    keep the server's log
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/labreview}
DURATION=${DURATION:-10s}
SESSIONS=${SESSIONS:-64}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18640}
PASSWORD='violin ocean thunder glacier'
command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export LABREVIEW_DATA_DIR=$work/data LABREVIEW_SERVER_ADDR=127.0.0.1:$PORT LABREVIEW_LOG_LEVEL=${SERVER_LOG_LEVEL:-warn} \
  LABREVIEW_AUTH_REFRESH_PER_MINUTE=0
printf '%s\n' "$PASSWORD" | "$BIN" user create --config /dev/null --email bench@lab.org --name Bench --password-stdin >/dev/null
env ${SERVER_GOGC:+GOGC=$SERVER_GOGC} GOMAXPROCS=${SERVER_PROCS:-} GODEBUG=${SERVER_GODEBUG:-} taskset -c ${SERVER_CPU:-0} "$BIN" serve --config /dev/null >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
go test -c -o "$work/server.test" ./server/
for r in $(seq "$ROUNDS"); do
  (cd server && GOMAXPROCS=1 GODEBUG=${CLIENT_GODEBUG:-} GOGC=${CLIENT_GOGC:-100} LABREVIEW_LOAD=refresh LABREVIEW_LOAD_URL=http://127.0.0.1:$PORT \
    LABREVIEW_LOAD_SESSIONS=$SESSIONS LABREVIEW_LOAD_DURATION=$DURATION LABREVIEW_LOAD_EMAIL=bench@lab.org \
    LABREVIEW_LOAD_PASSWORD="$PASSWORD" taskset -c ${CLIENT_CPU:-1} "$work/server.test" -test.run '^TestRefreshLoadClient$' -test.count=1) |
    grep '^refresh:' | sed "s/^/round $r /"
done
# The memory it took: peak and current resident set of the server.
awk '/^VmHWM|^VmRSS/ {printf "server %s %d MiB\n", $1, $2/1024}' "/proc/$pid/status"
[ -n "${KEEP_LOG:-}" ] && cp "$work/server.log" "$KEEP_LOG"
exit 0
