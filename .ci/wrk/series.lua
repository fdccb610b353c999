-- wrk script: 8 jobs (threads) each appending 10,000-point batches of new
-- steps (each point [step, value, time], as the clients send them) to runs
-- of their own. The batches are built once, in init: thread t walks its
-- runs one after another, and each run's step windows in order, so every
-- request carries points the run does not have yet.
-- Usage: wrk -t8 -c8 ... -s series.lua URL -- TOKEN RUNS_FILE RUNS_PER_THREAD WINDOWS
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local token, file = args[1], args[2]
  local per, windows = tonumber(args[3]), tonumber(args[4])
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  local ids = {}
  for line in io.lines(file) do table.insert(ids, line) end
  runs = {}
  for j = 1, per do table.insert(runs, ids[(tid - 1) * per + j]) end
  bodies = {}
  for w = 0, windows - 1 do
    local pts = {}
    for i = 0, 9999 do
      local step = w * 10000 + i
      pts[#pts + 1] = string.format("[%d,%.9g,%.3f]", step, 2 / (1 + step / 1000) + (step % 7) / 1000, 1764432000 + step / 100)
    end
    bodies[#bodies + 1] = '{"train/loss":[' .. table.concat(pts, ",") .. ']}'
  end
  k = 0
end

function request()
  local w = k % #bodies
  local r = math.floor(k / #bodies) % #runs
  k = k + 1
  return wrk.format("POST", "/api/runs/" .. runs[r + 1] .. "/series", headers, bodies[w + 1])
end
