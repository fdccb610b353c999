#!/usr/bin/env bash
# wrk figures for docs/benchmarks.md: MLflow's log-metric and log-batch
# against labreview's own series append (the baseline), in the same run.
#
# labreview is the real binary (BIN) on a fresh embedded store, pinned to
# core 0; wrk runs on core 1. Each wrk thread is one job logging to a run
# of its own (THREADS runs, one connection each): a job logs its points one
# after the other, as MLflow's client does.
#   mlflow/step     POST /api/2.0/mlflow/runs/log-metric, the step growing
#   mlflow/step0    the same without steps (MLflow's default 0: each point
#                   goes after the series' last)
#   mlflow/batch    POST runs/log-batch, 100 metrics at one step
#   labreview/point POST /api/runs/{id}/series, one point (the baseline)
# Targets take turns, ROUNDS times.
#
# Usage: BIN=bin/labreview .ci/bench-mlflow.sh   (needs wrk, curl, taskset)
#   DURATION=10s ROUNDS=2 THREADS=1
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/labreview}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-1}
PORT=${PORT:-18650}
PASSWORD='violin ocean thunder glacier'
base=http://127.0.0.1:$PORT

for tool in wrk curl taskset; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install -y $tool" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "$BIN not built: make build" >&2; exit 1; }

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

export LABREVIEW_DATA_DIR=$work/data LABREVIEW_SERVER_ADDR=127.0.0.1:$PORT
printf '%s\n' "$PASSWORD" | "$BIN" user create --config /dev/null --email bench@lab.org --name Bench \
  --role reviewer --password-stdin >/dev/null
taskset -c 0 "$BIN" serve --config /dev/null >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
access=$(curl -sf -d "username=bench@lab.org" --data-urlencode "password=$PASSWORD" "$base/api/auth/login" |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
token=$(curl -sf -H "Authorization: Bearer $access" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["runs:read","runs:write"]}' "$base/api/tokens" | sed -E 's/.*"token":"([^"]+)".*/\1/')

# runs NAME: THREADS runs created through MLflow, their ids one a line.
runs() {
  for i in $(seq "$THREADS"); do
    curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d "{\"experiment_id\":\"0\",\"run_name\":\"$1-$i\"}" "$base/api/2.0/mlflow/runs/create" |
      sed -E 's/.*"run_id":"([^"]+)".*/\1/'
    echo
  done
}

cat >"$work/bench.lua" <<'LUA'
-- Each thread logs to its own run (RUNS, space-separated); MODE picks the request.
local counter = 1
local threads, runs = {}, {}
for id in string.gmatch(os.getenv("RUNS"), "%S+") do table.insert(runs, id) end
local mode = os.getenv("MODE")
function setup(thread)
  local id = runs[#threads + 1]
  if id == nil then error("fewer runs than threads: " .. os.getenv("RUNS")) end
  thread:set("run", id)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local ts = os.time() * 1000
  local body, path
  if mode == "step" or mode == "step0" then
    local step = mode == "step" and counter or 0
    path = "/api/2.0/mlflow/runs/log-metric"
    body = string.format('{"run_id":"%s","key":"loss","value":%d.5,"timestamp":%d,"step":%d}', run, counter, ts + counter, step)
  elseif mode == "batch" then
    path = "/api/2.0/mlflow/runs/log-batch"
    local m = {}
    for i = 1, 100 do
      m[i] = string.format('{"key":"m%d","value":%d.25,"timestamp":%d,"step":%d}', i, counter, ts, counter)
    end
    body = string.format('{"run_id":"%s","metrics":[%s]}', run, table.concat(m, ","))
  else
    path = "/api/runs/" .. run .. "/series"
    body = string.format('{"loss":[[%d,%d.5]]}', counter, counter)
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. os.getenv("TOKEN")}, body)
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %s rps=%.0f p50=%.2fms p95=%.2fms p99=%.2fms errors=%d\n", mode,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

for round in $(seq "$ROUNDS"); do
  for mode in point step step0 batch; do
    ids=$(runs "$mode-$round" | tr '\n' ' ')
    RUNS=$ids TOKEN=$token MODE=$mode \
      taskset -c 1 wrk -t"$THREADS" -c"$THREADS" -d"$DURATION" -s "$work/bench.lua" "$base" | grep RESULT | sed "s/^RESULT /round $round /"
  done
done
