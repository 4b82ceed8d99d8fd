-- Shared by the benchmark's wrk scripts: counts every non-2xx response (wrk itself only counts >= 400) and,
-- at the end, prints one line the benchmark reads:
--   BENCH {"requests":…,"duration_us":…,"rps":…,"p50_us":…,"p99_us":…,"p999_us":…,"max_us":…,
--          "errors":…,"non2xx":…,"first_failure":"…"}
-- A script loads it with
--   local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
-- calls bench.setup(thread) from its setup() and bench.report(summary, latency) from its done().
local bench = { threads = {} }

function bench.setup(thread)
  table.insert(bench.threads, thread)
end

-- wrk calls this for every response (in each thread's own Lua state) once a script defines it.
function response(status, headers, body)
  if status < 200 or status > 299 then
    bench_failures = (bench_failures or 0) + 1
    if bench_first_failure == nil then
      bench_first_failure = status .. " " .. (body or ""):sub(1, 160)
    end
  end
end

local function clean(text)
  return (text:gsub("[^%w%p ]", " "):gsub('[\\"]', "'"))
end

function bench.report(summary, latency)
  local failures, first = 0, ""
  for _, thread in ipairs(bench.threads) do
    failures = failures + (thread:get("bench_failures") or 0)
    local sample = thread:get("bench_first_failure")
    if first == "" and sample then first = sample end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"rps":%.1f,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
    '"errors":%d,"non2xx":%d,"first_failure":"%s"}\n',
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    e.connect + e.read + e.write + e.timeout, failures, clean(first)))
end

return bench
