"""The soak: a steady mix well below capacity for MINUTES (60), with cross serve's memory, open files, threads and
latency sampled every interval (60 s), then whether each stayed flat.

Memory: RSS at the end must be at most SOAK_RSS_GROWTH_MB (2) above RSS after the warm-up (SOAK_WARMUP_MINUTES,
5, and at most a fifth of the run: the page cache filled, every worker's arena and stack touched, the first
checkpoint done). The series, the slope after the warm-up (least squares, MB an hour) and the verdict are printed;
the run fails if RSS grew more. Open files, threads and latency: the last third of the samples against the first.

The mix, at fixed rates with bench/tools/pace (open loop), every interval i:
  create    POST /api/orders: the batch B[i] of new orders                    (SOAK_ORDER_RATE/s, 10)
  checkout  the first checkout page of B[i-1]: cross asks the sandbox for a session id and records it
  notify    TMoney's OK notification for B[i-2]: the order becomes paid, durably
  render    the checkout pages of 200 orders made at the start, again and again (SOAK_RENDER_RATE/s, 200)
Beside it, one thread pays from the phone every SOAK_PUSH_SECONDS (2; 0: none), as bench/lib/push.py does: the
push (Cross calls MBANKING's login and debit), the approval on the sandbox, the callback confirmed by
check-transaction, until the order reads paid.
The 200 pages keep their session id (a lifetime of an hour, as in the benchmark): with the development 180 s,
all 200, opened together at the start, would ask the sandbox for a new one in the same second every 150 s. The
first checkouts exercise the gateway path steadily instead. The sandbox (TMoney's stand-in) keeps its session
ids 40 s only: it rewrites its state file, every live session id in it, for each new one, and must not be what
the soak measures.
"""
import json
import math
import os
import threading
import time
import urllib.parse

import load
import orders
import push
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


def slope_per_hour(values, interval):
    """Least-squares slope of samples taken every `interval` seconds, in units an hour."""
    n = len(values)
    if n < 2:
        return 0.0
    xs = [k * interval / 3600 for k in range(n)]
    mx, my = sum(xs) / n, sum(values) / n
    return sum((x - mx) * (y - my) for x, y in zip(xs, values)) / sum((x - mx) ** 2 for x in xs)


class PushPayer:
    """One push payment at a time, one every `period` seconds, on a thread of its own, until stopped: the
    payments done and the failures, taken per interval."""

    def __init__(self, stack, period, phone="90000001"):
        self.stack, self.period, self.phone = stack, period, phone
        self.lock = threading.Lock()
        self.done, self.failures, self.latencies = 0, [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        if self.period > 0:
            self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def take(self):
        """(payments, failures, p99 ms) since the last call."""
        with self.lock:
            done, failures, latencies = self.done, self.failures, self.latencies
            self.done, self.failures, self.latencies = 0, [], []
        return done, failures, push.percentile(latencies, 0.99) if latencies else float("nan")

    def _run(self):
        cross, sandbox = push.Client(self.stack.port), push.Client(self.stack.sandbox_port)
        n = 0
        next_at = time.monotonic()
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at += self.period
            n += 1
            ref = f"SOAKP-{n}"
            started = time.perf_counter()
            try:
                self._pay(cross, sandbox, ref)
                with self.lock:
                    self.done += 1
                    self.latencies.append(1000 * (time.perf_counter() - started))
            except Exception as error:  # noqa: BLE001 -- reported as the interval's failure
                with self.lock:
                    self.failures.append(f"{ref}: {type(error).__name__}: {error}")

    def _pay(self, cross, sandbox, ref):
        status, body = cross.api("POST", "/api/orders", {"purchaseref": ref, "amount": 1500})
        if status not in (200, 201):
            raise RuntimeError(f"order: {status} {body[:200]!r}")
        status, body = cross.api("POST", f"/api/orders/{ref}/push", {"phone": self.phone})
        if status != 202:
            raise RuntimeError(f"push: {status} {body[:200]!r}")
        reference = json.loads(body)["attempt"]["reference"]
        status, body = sandbox.call("GET", "/sandbox/api/prompts?phone=" + self.phone)
        prompt = next((p for p in json.loads(body) if p.get("reference") == reference), None)
        if prompt is None:
            raise RuntimeError("no prompt on the sandbox's phone")
        status, body = sandbox.call("POST", "/sandbox/api/prompts/" + urllib.parse.quote(prompt["id"]),
                                    json.dumps({"pin": "1234"}), {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"approval: {status} {body[:200]!r}")
        deadline = time.monotonic() + 30
        while True:
            status, body = cross.api("GET", "/api/orders/" + urllib.parse.quote(ref, safe=""))
            if status == 200 and json.loads(body).get("status") == "paid":
                return
            if time.monotonic() > deadline:
                raise RuntimeError("not paid 30 s after its approval")
            time.sleep(0.02)


def run(stack, tools, machine, minutes):
    interval = env_float("SOAK_INTERVAL", 60)
    render_rate = env_float("SOAK_RENDER_RATE", 200)
    order_rate = env_float("SOAK_ORDER_RATE", 10)
    tolerance = env_float("SOAK_TOLERANCE", 20)
    growth_allowed = env_float("SOAK_RSS_GROWTH_MB", 2)
    push_seconds = env_float("SOAK_PUSH_SECONDS", 2)
    samples = max(1, math.ceil(minutes * 60 / interval))
    # The warm-up: SOAK_WARMUP_MINUTES (5), at most a fifth of the run, at least one interval.
    warmup = max(1, min(round(env_float("SOAK_WARMUP_MINUTES", 5) * 60 / interval), samples // 5))
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
               f"session lifetime {stack.cross_config['session_lifetime_seconds']} s; "
               + (f"a push payment every {push_seconds:g} s" if push_seconds > 0 else "no push payments"))
    header = ("min", "RSS MB", "peak MB", "fds", "threads", "journal MB",
              "render p50/p99 ms", "notify p50/p99 ms", "create p99", "checkout p99", "push n/p99 ms", "failed", "other CPU")
    rows = []
    series = {k: [] for k in ("rss", "peak", "fds", "threads", "render_p50", "render_p99", "notify_p99", "create_p99")}
    failures = []
    requests_file = os.path.join(stack.run, "refs/soak.txt")
    payer = PushPayer(stack, push_seconds)
    payer.start()
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
        pushed, push_failures, push_p99 = payer.take()
        failed = sum(r.errors + r.non2xx for r in results.values()) + len(push_failures)
        for tag, r in results.items():
            if r.failed:
                failures.append(f"minute {i * interval / 60:g}, {tag}: {r.errors} errors, {r.non2xx} non-2xx; first: {r.first_failure[:160]}")
        if push_failures:
            failures.append(f"minute {i * interval / 60:g}, push: {len(push_failures)} failed; first: {push_failures[0][:160]}")
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
               f"{g('create', 'p99_ms'):.2f}", f"{g('checkout', 'p99_ms'):.2f}", f"{pushed} / {push_p99:.1f}", str(failed),
               f"{cpu.report()[0]:.0f}%"]
        rows.append(row)
        log("  " + "  ".join(f"{h}={v}" for h, v in zip(header, row)))
    payer.stop()

    out.append("other CPU: share of the machine that processes outside the benchmark took in that interval")
    out.append("")
    out += report.table(rows, header=header)
    rss = series["rss"]
    after_warmup, end = rss[warmup - 1], rss[-1]
    growth = end - after_warmup
    slope = slope_per_hour(rss[warmup - 1:], interval)
    memory_ok = growth <= growth_allowed
    out.append("")
    out.append("RSS series, MB, one sample a minute: " + " ".join(f"{v:.1f}" for v in rss))
    out.append(f"RSS: start {rss[0]:.1f} MB, after the warm-up ({warmup * interval / 60:g} min) {after_warmup:.1f} MB, "
               f"end {end:.1f} MB: {growth:+.2f} MB since the warm-up (allowed {growth_allowed:g}); "
               f"slope after the warm-up {slope:+.2f} MB an hour: " + ("flat" if memory_ok else "GREW"))
    third = max(1, len(rows) // 3)
    out.append("")
    out.append(f"flat? (mean of the last third of the samples against the first third; tolerance {tolerance:g} %, "
               "or 2 MB / 2 files / 0.5 ms):")
    ok = not failures and memory_ok
    for key, name, floor, unit in (("peak", "peak RSS in an interval", 2, "MB"),
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
    if not memory_ok:
        out.append(f"soak FAILED: RSS ended {growth:.2f} MB above its level after the warm-up, more than {growth_allowed:g} MB")
    out.append("soak: " + ("everything stayed flat, no failed request" if ok else "NOT flat or requests failed (see above)"))
    print("\n".join(out))
    return ok
