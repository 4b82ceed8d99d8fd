"""bench/run's command line: settings from the environment, the build, the temporary folder, the stack."""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import report
from stack import ProcessFailed, Stack, log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Settings:
    rounds: int
    duration: int
    connections: int
    threads: int
    workers: int
    port: int
    sandbox_port: int
    render_orders: int
    fixed_rate: int
    fixed_duration: int


def env_int(name, default):
    return int(os.environ.get(name, default))


def find_php_fpm():
    for name in ("php-fpm", "php-fpm8.2") + tuple(f"php-fpm8.{n}" for n in range(9, 0, -1)):
        path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
        if path:
            return path
    return None


class BuildFailed(Exception):
    pass


def build(run, soak):
    """The release build of cross (or $CROSS_BINARY, as it is), and the two C programs, into the temporary
    folder."""
    binary = os.environ.get("CROSS_BINARY")
    if binary:
        log(f"Using {binary} as it is (CROSS_BINARY)")
    else:
        log("Building cross (release) ...")
        if subprocess.run(["swift", "build", "-c", "release", "--product", "cross"], cwd=ROOT, stdout=sys.stderr).returncode:
            raise BuildFailed("swift build -c release failed (see above)")
        binary = os.path.join(ROOT, ".build/release/cross")
    tools = {"cross": os.path.abspath(binary)}
    for name, source, libraries in (("c-responder", "bench/fixtures/c-responder.c", ["-lfcgi", "-lpthread"]),
                                    ("pace", "bench/tools/pace.c", [])):
        tools[name] = os.path.join(run, name)
        subprocess.run(["cc", "-O2", "-o", tools[name], os.path.join(ROOT, source)] + libraries, check=True)
    if not soak:
        tools["php-fpm"] = find_php_fpm()
        tools["php"] = shutil.which("php")
        tools["php_version"] = report._first_line(["php", "-v"]).split(" (")[0]
    return tools


def main():
    parser = argparse.ArgumentParser(
        description="Cross benchmark through nginx (see the top of bench/run). Settings come from the environment: "
                    "ROUNDS, DURATION, CONNECTIONS, THREADS, WORKERS, PORT, SANDBOX_PORT, RENDER_ORDERS, FIXED_RATE "
                    "(0: no fixed-rate pass), FIXED_DURATION, BENCH_TMPDIR, BENCH_KEEP=1; soak: SOAK=1, SOAK_MINUTES, "
                    "SOAK_INTERVAL, SOAK_WARMUP_MINUTES, SOAK_RSS_GROWTH_MB, SOAK_PUSH_SECONDS, SOAK_RENDER_RATE, SOAK_ORDER_RATE, SOAK_TOLERANCE; CROSS_BINARY: measure this binary, no build; "
                    "BENCH_NICE=-10: run the benchmark ahead of other work on a shared machine (root).")
    parser.add_argument("--soak", nargs="?", const=-1, type=float, metavar="MINUTES",
                        help="run the soak instead: a steady mix for MINUTES (default 60, or SOAK_MINUTES)")
    args = parser.parse_args()
    soak_minutes = None
    if args.soak is not None or os.environ.get("SOAK", "") not in ("", "0"):
        soak_minutes = args.soak if args.soak not in (None, -1) else float(os.environ.get("SOAK_MINUTES", 60))

    for tool in ["wrk", "nginx", "cc", "swift"] + ([] if soak_minutes else ["php"]):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is missing: run 'make bench' (it installs what the benchmark needs)")
    if not soak_minutes and not find_php_fpm():
        sys.exit("php-fpm is missing: run 'make bench' (it installs php-fpm)")

    settings = Settings(
        rounds=env_int("ROUNDS", 5), duration=env_int("DURATION", 5), connections=env_int("CONNECTIONS", 64),
        threads=env_int("THREADS", 2), workers=env_int("WORKERS", 16), port=env_int("PORT", 18090),
        sandbox_port=env_int("SANDBOX_PORT", 18091), render_orders=env_int("RENDER_ORDERS", 200),
        fixed_rate=env_int("FIXED_RATE", 1000), fixed_duration=env_int("FIXED_DURATION", 10))

    # On a shared machine: BENCH_NICE=-10 (root) puts every process of the benchmark ahead of other work.
    nice = env_int("BENCH_NICE", 0)
    if nice:
        os.nice(nice)
    # On disk, not in a tmpfs /tmp: an fdatasync on tmpfs costs nothing and would flatter the notify rows.
    parent = os.environ.get("BENCH_TMPDIR", "/var/tmp")
    run = tempfile.mkdtemp(prefix="cross-bench.", dir=parent)
    stack = Stack(ROOT, run, settings.port, settings.sandbox_port, settings.workers,
                  session_lifetime=3600,
                  php=not soak_minutes, c=not soak_minutes,
                  # The sandbox rewrites (and syncs) its whole state, every live session id in it, for each new
                  # one: in the soak it forgets them after 40 s, so that TMoney's stand-in stays cheap.
                  sandbox_session_lifetime=40 if soak_minutes else None)
    # SIGTERM (or SIGINT) stops the stack like the end of the run does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    try:
        tools = build(run, soak_minutes is not None)
        machine = report.machine(run, ROOT)
        stack.write_configs()
        rows = os.environ.get("BENCH_ROWS", "")
        if rows == "growth":
            import growth
            growth.configure(stack)
        stack.start(tools["cross"], tools.get("c-responder"), tools.get("php-fpm"))
        if rows == "growth":
            ok = growth.run(stack, tools)
        elif soak_minutes:
            import soak
            ok = soak.run(stack, tools, machine, soak_minutes)
        else:
            import bench
            import push
            # BENCH_ROWS=push: only the rows of paying from the phone (PUSH=0: without them).
            only_push = rows == "push"
            ok = only_push or bench.run(stack, settings, tools, machine)
            if os.environ.get("PUSH", "1") != "0":
                ok = push.run(stack, tools) and ok
    except KeyboardInterrupt:
        log("interrupted")
    except (BuildFailed, ProcessFailed) as error:
        log(f"FAILED: {error}")
    finally:
        stack.stop()
        if os.environ.get("BENCH_KEEP", "") not in ("", "0") or not ok:
            log(f"kept for a look: {run} (logs/, cross-data/, php-data/)")
        else:
            shutil.rmtree(run, ignore_errors=True)
    sys.exit(0 if ok else 1)
