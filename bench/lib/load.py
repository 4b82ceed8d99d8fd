"""The load generators: wrk (closed loop, as fast as the server answers) with the scripts in bench/wrk/, and
pace (bench/tools/pace.c: open loop, a fixed rate, latency counted from when each request was due)."""
import json
import os
import subprocess
from dataclasses import dataclass, field


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    requests: int
    errors: int = 0       # connect/read/write errors and timeouts
    non2xx: int = 0       # any status outside 200-299
    first_failure: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def failed(self):
        return self.errors > 0 or self.non2xx > 0


def wrk(base, path, script, duration, connections, threads, env=None):
    """One wrk run over `base + path` with one of bench/wrk/*.lua (they report through report.lua)."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", script, base + path]
    completed = subprocess.run(argv, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    line = next((l for l in completed.stdout.splitlines() if l.startswith("BENCH ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({' '.join(argv)}):\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(line[len("BENCH "):])
    return Result(rps=data["rps"], p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                  p999_ms=data["p999_us"] / 1000, max_ms=data["max_us"] / 1000, requests=data["requests"],
                  errors=data["errors"], non2xx=data["non2xx"], first_failure=data["first_failure"])


def pace(binary, port, requests_file, rate, duration, connections=64, once=True, headers=()):
    """One pace run; returns {tag: Result} (Result.extra holds sent, late, exhausted, unfinished)."""
    argv = [binary, "-a", f"127.0.0.1:{port}", "-r", str(rate), "-d", str(duration), "-c", str(connections)]
    for header in headers:
        argv += ["-H", header]
    if once:
        argv.append("-o")
    argv.append(requests_file)
    completed = subprocess.run(argv, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"pace failed ({' '.join(argv)}):\n{completed.stdout}\n{completed.stderr}")
    results = {}
    for line in completed.stdout.splitlines():
        data = json.loads(line)
        errors = data["errors"] + data["exhausted"] + data["unfinished"]
        results[data["tag"]] = Result(
            rps=data["rate"], p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
            p999_ms=data["p999_us"] / 1000, max_ms=data["max_us"] / 1000, requests=data["done"], errors=errors,
            non2xx=data["non2xx"], first_failure=data["first_failure"],
            extra={k: data[k] for k in ("sent", "late", "exhausted", "unfinished")})
    return results
