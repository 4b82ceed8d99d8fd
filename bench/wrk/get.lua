-- A plain GET of the URL given to wrk, reported by report.lua (p99.9, non-2xx): the static and /healthz rows.
local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

function setup(thread)
  bench.setup(thread)
end

function done(summary, latency, requests)
  bench.report(summary, latency)
end
