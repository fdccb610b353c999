-- wrk script: POST /api/runs with a new external id each time, as a sweep's
-- jobs send them: 10 params (one nested), 3 metrics, status running.
-- Usage: wrk ... -s create-runs.lua URL -- TOKEN PREFIX
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token, prefix = args[1], args[2] or "r"
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
  n = 0
end

function request()
  n = n + 1
  local body = string.format(
    '{"project":"sweep-%d","external_id":"%s-%d-%d","status":"running","host":"node-%03d","job_id":"%d",' ..
    '"params":{"lr":%.6g,"batch":%d,"epochs":%d,"optimizer":"adamw","momentum":0.9,"weight_decay":%.6g,' ..
    '"dropout":%.2f,"seed":%d,"layers":[512,256,%d],"scheduler":{"name":"cosine","warmup":%d}},' ..
    '"metrics":{"loss":%.8g,"acc":%.8g,"f1":%.8g}}',
    n % 10, prefix, tid, n, n % 128, 4000000 + n,
    0.1 / (1 + n % 97), 32 * (1 + n % 8), 10 + n % 90, 1e-4 * (n % 13), (n % 5) / 10, n, 64 + n % 64, 100 * (n % 10),
    1 / (1 + n % 1009), 0.5 + (n % 499) / 1000, 0.4 + (n % 587) / 1000)
  return wrk.format("POST", "/api/runs", headers, body)
end
