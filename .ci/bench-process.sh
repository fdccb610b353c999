#!/usr/bin/env bash
# Process-level figures for docs/benchmarks.md: start to /readyz = 200 on a
# fresh embedded store, idle RSS after start, and binary size.
# Usage: BIN=bin/labreview .ci/bench-process.sh   (run by `make bench`)
set -euo pipefail
BIN=${BIN:-bin/labreview}
RUNS=${RUNS:-10}
PORT=${PORT:-18590}

work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

now_ns() { date +%s%N; }
ready_ms=()
for i in $(seq "$RUNS"); do
  rm -rf "$work/data"
  t0=$(now_ns)
  LABREVIEW_SERVER_ADDR=127.0.0.1:$PORT LABREVIEW_DATA_DIR=$work/data LABREVIEW_LOG_LEVEL=warn \
    "$BIN" serve --config /dev/null >/dev/null 2>&1 &
  pid=$!
  until "$BIN" healthcheck --url "http://127.0.0.1:$PORT/readyz" --timeout 200ms 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { echo "server exited during start" >&2; exit 1; }
  done
  t1=$(now_ns)
  ready_ms+=($(( (t1 - t0) / 1000000 )))
  if [ "$i" -eq "$RUNS" ]; then
    sleep 2
    rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  fi
  kill -TERM "$pid"; wait "$pid" || true; pid=
done

sorted=$(printf '%s\n' "${ready_ms[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
worst=$(echo "$sorted" | tail -1)
size=$(stat -c %s "$BIN")
echo "start to /readyz=200 (fresh data dir, $RUNS runs, includes the probe process): median ${median} ms, max ${worst} ms"
echo "idle RSS 2 s after ready: $(( rss_kb / 1024 )) MiB (${rss_kb} KiB)"
echo "binary size: $(( size / 1024 / 1024 )) MiB (${size} bytes, -trimpath -s -w, UI embedded)"
