-- GETs the paths listed one per line in $CROSS_BENCH_PATHS, in turn (checkout pages of existing orders).
local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

function setup(thread)
  bench.setup(thread)
end

function init(args)
  paths = {}
  for line in io.lines(os.getenv("CROSS_BENCH_PATHS")) do table.insert(paths, line) end
  position = 0
end

function request()
  position = position % #paths + 1
  return wrk.format("GET", paths[position])
end

function done(summary, latency, requests)
  bench.report(summary, latency)
end
