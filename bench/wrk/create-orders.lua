-- Creates orders through the API, each with a distinct purchaseref: BENCH-<thread>-<n>.
-- wrk -s create-orders.lua; the API key comes from the environment (CROSS_BENCH_API_KEY).
-- At the end it writes how many each thread created to $CROSS_BENCH_REFS, for notify.lua: all but the last
-- $CROSS_BENCH_IN_FLIGHT of each thread (its connections), which may still have been on their way when wrk
-- stopped, so that notify.lua never names an order that was not made.
local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
local threads = {}
local api_key = os.getenv("CROSS_BENCH_API_KEY")
local prefix = os.getenv("CROSS_BENCH_PREFIX") or "BENCH"

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
  bench.setup(thread)
end

function init(args)
  created = 0
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. api_key }
end

function request()
  if id == 1 and not verified then
    -- wrk calls request() once in the first thread's state to check the script, and never sends that
    -- request: it must not take a number, or notify.lua would name an order that was never made.
    verified = true
    return wrk.format("POST", "/api/orders", headers,
      string.format('{"purchaseref":"%s-verify","amount":15000,"description":"Bench order"}', prefix))
  end
  created = created + 1
  local body = string.format('{"purchaseref":"%s-%d-%d","amount":15000,"description":"Bench order"}', prefix, id, created)
  return wrk.format("POST", "/api/orders", headers, body)
end

function done(summary, latency, requests)
  local in_flight = tonumber(os.getenv("CROSS_BENCH_IN_FLIGHT") or "0")
  local file = io.open(os.getenv("CROSS_BENCH_REFS"), "a")
  for _, thread in ipairs(threads) do
    file:write(string.format("%s %d %d\n", prefix, thread:get("id"), math.max(0, thread:get("created") - in_flight)))
  end
  file:close()
  bench.report(summary, latency)
end
