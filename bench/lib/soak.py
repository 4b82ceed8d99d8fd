"""The soak: a steady mix well below capacity for MINUTES, with cross serve's memory, open files, threads and
latency sampled every interval (60 s), then whether each stayed flat (the last third against the first).

The mix, at fixed rates with bench/tools/pace (open loop), every interval i:
  create    POST /api/orders: the batch B[i] of new orders                    (SOAK_ORDER_RATE/s, 10)
  checkout  the first checkout page of B[i-1]: cross asks the sandbox for a session id and records it
  notify    TMoney's OK notification for B[i-2]: the order becomes paid, durably
  render    the checkout pages of 200 orders made at the start, again and again (SOAK_RENDER_RATE/s, 200)
The 200 pages keep their session id (a lifetime of an hour, as in the benchmark): with the development 180 s,
all 200, opened together at the start, would ask the sandbox for a new one in the same second every 150 s. The
first checkouts exercise the gateway path steadily instead. The sandbox (TMoney's stand-in) keeps its session
ids 40 s only: it rewrites its state file, every live session id in it, for each new one, and must not be what
the soak measures.
"""
import math
import os
import time

import load
import orders
import report
from stack import API_KEY, CPUAccount, RSSWatch, journal_bytes, log, open_fds, proc_status


def env_float(name, default):
    return float(os.environ.get(name, default))


def spread(lines, interval):
    """(time, line) for lines evenly spread over the interval."""
    step = interval / len(lines) if lines else 0
    return [(k * step, line) for k, line in enumerate(lines)]


def verdict(first, last, tolerance, floor):
    """Flat unless the last third grew by more than tolerance % (and more than `floor`) over the first third;
    less is fine."""
    change = last - first
    percent = 100 * change / first if first else 0.0
    if change <= floor or percent <= tolerance:
        return percent, "flat" if abs(percent) <= tolerance or abs(change) <= floor else "flat (lower)"
    return percent, "GREW"


def run(stack, tools, machine, minutes):
    interval = env_float("SOAK_INTERVAL", 60)
    render_rate = env_float("SOAK_RENDER_RATE", 200)
    order_rate = env_float("SOAK_ORDER_RATE", 10)
    tolerance = env_float("SOAK_TOLERANCE", 20)
    samples = max(1, math.ceil(minutes * 60 / interval))
    batch = int(order_rate * interval)
    secret = stack.cross_config["link_secret"]
    pid = stack.cross_pid
    client = orders.Client(stack.port, API_KEY)

    log(f"soak: setting up 200 orders to render and {2 * batch} to pay ...")
    render_paths = [path for _, _, path in orders.make_checkout_orders(client, "SOAKR", 200, secret)]
    batches = {-1: [f"S-1-{n}" for n in range(1, batch + 1)], 0: [f"S0-{n}" for n in range(1, batch + 1)]}
    for ref in batches[-1] + batches[0]:
        client.create(ref, description="Soak order")
    for ref in batches[-1]:
        client.get("/pay/" + orders.link_token(orders.order_key(ref), secret))

    out = ["", f"Cross soak, {time.strftime('%Y-%m-%d %H:%M %Z')}: {minutes:g} min, a sample every {interval:g} s"]
    out += report.describe_machine(machine)
    out.append(f"mix (pace, open loop): {render_rate:g} renders/s of 200 checkout pages; {order_rate:g}/s each of "
               f"order creations, first checkouts (a session id from the sandbox) and notifications; "
               f"session lifetime {stack.cross_config['session_lifetime_seconds']} s")
    header = ("min", "RSS MB", "peak MB", "fds", "threads", "journal MB",
              "render p50/p99 ms", "notify p50/p99 ms", "create p99", "checkout p99", "failed", "other CPU")
    rows = []
    series = {k: [] for k in ("rss", "peak", "fds", "threads", "render_p50", "render_p99", "notify_p99", "create_p99")}
    failures = []
    requests_file = os.path.join(stack.run, "refs/soak.txt")
    log(f"soak: {samples} intervals of {interval:g} s ...")
    for i in range(1, samples + 1):
        batches[i] = [f"S{i}-{n}" for n in range(1, batch + 1)]
        body = lambda ref: '{"purchaseref":"%s","amount":15000,"description":"Soak order"}' % ref
        classes = [
            [f"create POST /api/orders {body(ref)}" for ref in batches[i]],
            ["checkout GET /pay/" + orders.link_token(orders.order_key(ref), secret) for ref in batches[i - 1]],
            [orders.notify_line("notify", "/notify", ref) for ref in batches[i - 2]],
            ["render GET " + render_paths[k % len(render_paths)] for k in range(int(render_rate * interval))],
        ]
        timeline = sorted((t + 1e-6 * c, line) for c, lines in enumerate(classes) for t, line in spread(lines, interval))
        with open(requests_file, "w") as f:
            f.write("\n".join(line for _, line in timeline) + "\n")
        cpu = CPUAccount()
        with RSSWatch(pid) as watch:
            results = load.pace(tools["pace"], stack.port, requests_file, len(timeline) / interval, interval,
                                connections=32, once=True, headers=["Authorization: Bearer " + API_KEY])
        stack.check_alive()
        del batches[i - 2]
        status = proc_status(pid)
        fds = open_fds(pid)
        failed = sum(r.errors + r.non2xx for r in results.values())
        for tag, r in results.items():
            if r.failed:
                failures.append(f"minute {i * interval / 60:g}, {tag}: {r.errors} errors, {r.non2xx} non-2xx; first: {r.first_failure[:160]}")
        g = lambda tag, k: getattr(results[tag], k) if tag in results else float("nan")
        values = dict(rss=status["VmRSS"] / 1024, peak=watch.peak_kb / 1024, fds=fds, threads=status["Threads"],
                      render_p50=g("render", "p50_ms"), render_p99=g("render", "p99_ms"),
                      notify_p99=g("notify", "p99_ms"), create_p99=g("create", "p99_ms"))
        for k, v in values.items():
            series[k].append(v)
        row = [f"{i * interval / 60:g}", f"{values['rss']:.1f}", f"{values['peak']:.1f}", str(fds), str(status["Threads"]),
               f"{journal_bytes(stack.cross_data) / 2**20:.1f}",
               f"{g('render', 'p50_ms'):.2f} / {g('render', 'p99_ms'):.2f}",
               f"{g('notify', 'p50_ms'):.2f} / {g('notify', 'p99_ms'):.2f}",
               f"{g('create', 'p99_ms'):.2f}", f"{g('checkout', 'p99_ms'):.2f}", str(failed),
               f"{cpu.report()[0]:.0f}%"]
        rows.append(row)
        log("  " + "  ".join(f"{h}={v}" for h, v in zip(header, row)))

    out.append("other CPU: share of the machine that processes outside the benchmark took in that interval")
    out.append("")
    out += report.table(rows, header=header)
    third = max(1, len(rows) // 3)
    out.append("")
    out.append(f"flat? (mean of the last third of the samples against the first third; tolerance {tolerance:g} %, "
               "or 2 MB / 2 files / 0.5 ms):")
    ok = not failures
    for key, name, floor, unit in (("rss", "RSS", 2, "MB"), ("peak", "peak RSS in an interval", 2, "MB"),
                                   ("fds", "open files", 2, ""), ("threads", "threads", 2, ""),
                                   ("render_p50", "render p50", 0.5, "ms"), ("render_p99", "render p99", 0.5, "ms"),
                                   ("notify_p99", "notification p99", 0.5, "ms"), ("create_p99", "creation p99", 0.5, "ms")):
        first = sum(series[key][:third]) / third
        last = sum(series[key][-third:]) / third
        percent, word = verdict(first, last, tolerance, floor)
        ok = ok and word != "GREW"
        out.append(f"  {name:<24} {first:8.2f} -> {last:8.2f} {unit:<3} ({percent:+5.1f} %)  {word}")
    if failures:
        out.append("")
        out.append("FAILED requests:")
        out += ["  " + f for f in failures]
    out.append("")
    out.append("soak: " + ("everything stayed flat, no failed request" if ok else "NOT flat or requests failed (see above)"))
    print("\n".join(out))
    return ok
