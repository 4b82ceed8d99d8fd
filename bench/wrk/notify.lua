-- Sends one OK notification per order, each to a different pending order, from the list create-orders.lua
-- wrote ($CROSS_BENCH_REFS: "<prefix> <thread> <count>" lines). Threads take disjoint slices of the orders.
local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
  bench.setup(thread)
end

function init(args)
  refs = {}
  for line in io.lines(os.getenv("CROSS_BENCH_REFS")) do
    local prefix, t, count = line:match("(%S+) (%d+) (%d+)")
    for n = 1, tonumber(count) do table.insert(refs, string.format("%s-%s-%d", prefix, t, n)) end
  end
  local total = tonumber(os.getenv("CROSS_BENCH_THREADS"))
  -- Every thread walks its own slice, so that no two requests notify the same order.
  position = id
  step = total
  path = os.getenv("CROSS_BENCH_NOTIFY_PATH") or "/notify"
end

function request()
  local ref = refs[position]
  if ref == nil then
    -- Out of pending orders: the run is too long for the orders created. Counted as errors by the script.
    ref = "exhausted"
  end
  position = position + step
  return wrk.format("GET", string.format(
    "%s?purchaseref=%s&amount=15000&currency=952&status=OK&clientid=C1&cname=Kofi+Mensah&mobile=22890000001&paymentref=PR-%s&payid=PAY-%s&timestamp=1469024554&error=",
    path, ref, ref, ref))
end

function done(summary, latency, requests)
  bench.report(summary, latency)
end
