"""`make bench`: every row through the same nginx, in alternating rounds, medians, then a fixed-rate pass.

Rows (each: requests/s, p50, p99, p99.9; cross rows also the responder's peak RSS):
  static      nginx serving a small file itself: the ceiling of this machine
  c, cross    (d) the trivial route: /healthz of the C libfcgi reference and of cross serve
  render      (a) cross's checkout page of existing orders (each has its session id already)
  php-render  (a) the same pages rendered by the PHP reference (bench/php/checkout.php) from the same order files
  notify      (b) cross's notification, each to a distinct pending order, durable before the answer
  php-notify  (b) the PHP reference's notification (bench/php/notify.php), same durable work
  create      (c) order creation through cross's API; it also makes the orders the next notify round walks
"""
import math
import os
import sys
import time

import load
import orders
import report
from stack import (API_KEY, CPUAccount, RSSMonitor, RSSWatch, copy_orders, journal_bytes, log, memory_split, open_fds, proc_status,
                   tree_cpu_split)

LABELS = {
    "static": "(static) nginx static file",
    "c": "(d) C libfcgi /healthz",
    "cross": "(d) cross /healthz",
    "render": "(a) cross checkout render",
    "php-render": "(a) PHP checkout render",
    "notify": "(b) cross notification",
    "php-notify": "(b) PHP notification",
    "create": "(c) cross order creation",
}
CROSS_ROWS = {"cross", "render", "notify", "create"}
# The process whose CPU time a row costs (with its workers): the responder, or nginx for the static file.
RESPONDER = {"static": "nginx", "c": "c-responder", "php-render": "php-fpm", "php-notify": "php-fpm"}


class Bench:
    def __init__(self, stack, settings, tools):
        self.stack = stack
        self.s = settings
        self.tools = tools  # paths of pace, php
        self.wrk_dir = os.path.join(stack.root, "bench/wrk")
        self.results = {row: [] for row in LABELS}  # row -> [Result per round]
        self.rss = {row: [] for row in CROSS_ROWS}    # row -> [peak kB per round]
        self.fixed = {}                               # row -> Result
        self.fixed_rss = {}
        self.failures = []                            # (row, round, Result)
        self.notify_rate_guess = {"notify": 1000.0, "php-notify": 1000.0}
        self.create_rate = 1000.0
        self.template_order = None
        self.cpu = CPUAccount()
        self.rss_monitor = RSSMonitor(stack.cross_pid)
        with open("/proc/loadavg") as f:
            self.load_at_start = float(f.read().split()[0])

    # -- one measurement ---------------------------------------------------------------------------------

    def _wrk(self, row, path, script, env=None, duration=None, connections=None):
        s = self.s
        run = lambda: load.wrk(self.stack.base, path, os.path.join(self.wrk_dir, script),
                               duration or s.duration, connections or s.connections, s.threads, env)
        return self._timed(row, run)

    def _timed(self, row, run):
        """Runs the load; adds the responder's CPU time per request and, for cross, its peak RSS."""
        pid = self.stack.processes[RESPONDER.get(row, "cross")].pid
        user, system = tree_cpu_split(pid)
        if row in CROSS_ROWS:
            with RSSWatch(self.stack.cross_pid) as watch:
                result = run()
            result.extra["rss_kb"] = watch.peak_kb
        else:
            result = run()
        user_after, system_after = tree_cpu_split(pid)
        cpu = (user_after - user) + (system_after - system)
        result.extra["cpu_us"] = 1e6 * cpu / max(result.requests, 1)
        result.extra["kernel_pct"] = 100 * (system_after - system) / cpu if cpu > 0 else 0.0
        self.stack.check_alive()
        return result

    def _record(self, row, round_number, result):
        self.results[row].append(result)
        if row in CROSS_ROWS:
            self.rss[row].append(result.extra["rss_kb"])
        if result.failed:
            self.failures.append((row, round_number, result))

    def measure(self, row, round_number):
        s = self.s
        env = {"CROSS_BENCH_THREADS": str(s.threads), "CROSS_BENCH_API_KEY": API_KEY}
        if row == "static":
            result = self._wrk(row, "/static/ok.txt", "get.lua")
        elif row == "c":
            result = self._wrk(row, "/c/healthz", "get.lua")
        elif row == "cross":
            result = self._wrk(row, "/healthz", "get.lua")
        elif row in ("render", "php-render"):
            paths = self.paths_file if row == "render" else self.php_paths_file
            result = self._wrk(row, "/", "paths.lua", {**env, "CROSS_BENCH_PATHS": paths})
        elif row in ("notify", "php-notify"):
            refs_file = self._refs_file(row, round_number)
            path = "/notify" if row == "notify" else "/php/notify"
            result = self._wrk(row, path, "notify.lua",
                               {**env, "CROSS_BENCH_REFS": refs_file, "CROSS_BENCH_NOTIFY_PATH": path})
            self.notify_rate_guess[row] = max(self.notify_rate_guess[row], result.rps)
        elif row == "create":
            result = self._create(f"C{round_number}", self._refs_file("notify", round_number), s.duration, timed=True)
        else:
            raise ValueError(row)
        self._record(row, round_number, result)
        log(f"  {row:<11} {result.rps:>9,.0f} req/s  p99 {result.p99_ms:7.2f} ms"
            + (f"  RSS {result.extra['rss_kb'] / 1024:5.1f} MB" if "rss_kb" in result.extra else "")
            + (f"  FAILED: {result.errors} errors, {result.non2xx} non-2xx" if result.failed else ""))
        return result

    def _refs_file(self, row, round_number):
        return os.path.join(self.stack.run, "refs", f"{row}-{round_number}.txt")

    def _create(self, prefix, refs_file, duration, timed=False):
        """create-orders.lua for `duration` s: the creation row when `timed`, else a set-up step. Its refs
        are appended to `refs_file` for notify.lua."""
        s = self.s
        env = {"CROSS_BENCH_API_KEY": API_KEY, "CROSS_BENCH_PREFIX": prefix, "CROSS_BENCH_REFS": refs_file,
               "CROSS_BENCH_IN_FLIGHT": str(math.ceil(s.connections / s.threads))}
        if timed:
            result = self._wrk("create", "/api/orders", "create-orders.lua", env, duration)
        else:
            result = load.wrk(self.stack.base, "/api/orders", os.path.join(self.wrk_dir, "create-orders.lua"),
                              duration, s.connections, s.threads, env)
            if result.failed:
                log(f"  warning: creating orders {prefix}: {result.errors} errors, {result.non2xx} non-2xx; "
                    f"first: {result.first_failure[:200]}")
        self.create_rate = result.rps
        return result

    # -- set-up ------------------------------------------------------------------------------------------

    def setup_checkout(self):
        """200 (RENDER_ORDERS) orders through the API, each checkout page opened once so that it has a session
        id; the same order files copied for the PHP reference. The render rows walk their pages."""
        s = self.s
        link_secret = self.stack.cross_config["link_secret"]
        client = orders.Client(self.stack.port, API_KEY)
        made = orders.make_checkout_orders(client, "RENDER", s.render_orders, link_secret)
        copy_orders(self.stack.cross_data, self.stack.php_data, [key for _, key, _ in made])
        self.paths_file = os.path.join(self.stack.run, "refs/render-paths.txt")
        self.php_paths_file = os.path.join(self.stack.run, "refs/php-render-paths.txt")
        with open(self.paths_file, "w") as f:
            f.writelines(path + "\n" for _, _, path in made)
        with open(self.php_paths_file, "w") as f:
            f.writelines("/php" + path.replace("/pay/", "/checkout/", 1) + "\n" for _, _, path in made)
        # The two pages carry the same session id and fields; their sizes are printed for comparison.
        ref, key, path = made[0]
        cross_page = client.get(path)
        php_page = client.get("/php" + path.replace("/pay/", "/checkout/", 1))
        for page in (cross_page, php_page):
            if b'name="sessionid"' not in page or ref.encode() not in page:
                raise RuntimeError(f"checkout page without the order's fields: {page[:400]!r}")
        self.page_sizes = (len(cross_page), len(php_page))
        # A pending order as Cross writes it: the template of the PHP reference's notification orders.
        client.create("TEMPLATE-1", description="Bench order")
        self.template_order = os.path.join(self.stack.cross_data, "orders", orders.order_key("TEMPLATE-1")[:3],
                                           orders.order_key("TEMPLATE-1") + ".json")
        # And the PHP notification works end to end.
        probe_refs = os.path.join(self.stack.run, "refs/php-probe.txt")
        orders.php_setup(self.tools["php"], self.stack.root, self.stack.php_data, self.template_order, "PROBE", 1, probe_refs)
        body = client.get("/php/notify?" + orders.NOTIFY_QUERY.format(ref="PROBE-1-1"))
        if body != b"OK":
            raise RuntimeError(f"PHP notification probe answered {body!r}")

    def warm_up(self):
        """A second of each row at low concurrency (caches, opcache, connections), and a first estimate of the
        notification and creation rates, to size the orders each notify round needs."""
        log("warming up ...")
        for row, path, script, env in (("static", "/static/ok.txt", "get.lua", {}), ("c", "/c/healthz", "get.lua", {}),
                                       ("cross", "/healthz", "get.lua", {}),
                                       ("render", "/", "paths.lua", {"CROSS_BENCH_PATHS": self.paths_file}),
                                       ("php-render", "/", "paths.lua", {"CROSS_BENCH_PATHS": self.php_paths_file})):
            load.wrk(self.stack.base, path, os.path.join(self.wrk_dir, script), 1, 8, 1, env)
        refs_file = self._refs_file("notify", 0)
        self._create("W", refs_file, 3)
        php_refs = self._refs_file("php-notify", 0)
        orders.php_setup(self.tools["php"], self.stack.root, self.stack.php_data, self.template_order, "PW",
                         orders.refs_count(refs_file), php_refs)
        for row, refs, path in (("notify", refs_file, "/notify"), ("php-notify", php_refs, "/php/notify")):
            result = load.wrk(self.stack.base, path, os.path.join(self.wrk_dir, "notify.lua"), 1,
                              self.s.connections, self.s.threads,
                              {"CROSS_BENCH_REFS": refs, "CROSS_BENCH_THREADS": str(self.s.threads),
                               "CROSS_BENCH_NOTIFY_PATH": path})
            self.notify_rate_guess[row] = max(result.rps, 500.0)
        log(f"  estimates: cross notify {self.notify_rate_guess['notify']:,.0f}/s, PHP notify "
            f"{self.notify_rate_guess['php-notify']:,.0f}/s, cross create {self.create_rate:,.0f}/s")

    def _orders_needed(self, row, duration):
        # Twice the best rate seen so far, and no less than twice the 3,000/s target: a round never runs out of
        # pending orders unless it is twice as fast (a cold warm-up once guessed PHP at a third of its rate).
        return int(max(self.notify_rate_guess[row], 3000) * duration * 2) + 1000

    def top_up(self, round_number):
        """After the creation row: more orders if that row made fewer than the next notify round may use."""
        refs_file = self._refs_file("notify", round_number)
        missing = self._orders_needed("notify", self.s.duration) - orders.refs_count(refs_file)
        if missing > 0:
            seconds = math.ceil(missing / max(self.create_rate, 100) * 1.1)
            log(f"  (making {missing:,} more orders for the notify round: {seconds} s)")
            self._create(f"C{round_number}x", refs_file, seconds)

    def setup_php_notify(self, round_number, duration=None, prefix=None):
        refs_file = self._refs_file("php-notify", round_number)
        count = self._orders_needed("php-notify", duration or self.s.duration)
        orders.php_setup(self.tools["php"], self.stack.root, self.stack.php_data, self.template_order,
                         prefix or f"P{round_number}", count, refs_file)
        return refs_file

    # -- the run -----------------------------------------------------------------------------------------

    def run_rounds(self):
        s = self.s
        for r in range(1, s.rounds + 1):
            log(f"round {r}/{s.rounds}")
            flip = r % 2 == 0
            trivial = ["static", "c", "cross"] if not flip else ["static", "cross", "c"]
            pair = lambda a, b: [b, a] if flip else [a, b]
            for row in trivial + pair("render", "php-render"):
                self.measure(row, r)
            self.measure("create", r)
            self.top_up(r)
            self.setup_php_notify(r)
            for row in pair("notify", "php-notify"):
                self.measure(row, r)

    def run_fixed(self):
        """Each row at FIXED_RATE requests/s with pace, open loop: latency at a load the server can carry."""
        s = self.s
        log(f"fixed rate: {s.fixed_rate:,} req/s for {s.fixed_duration} s per row ...")
        run = self.stack.run
        lines = {}
        lines["c"] = ["c GET /c/healthz"]
        lines["cross"] = ["cross GET /healthz"]
        with open(self.paths_file) as f:
            lines["render"] = ["render GET " + l.strip() for l in f if l.strip()]
        with open(self.php_paths_file) as f:
            lines["php-render"] = ["php-render GET " + l.strip() for l in f if l.strip()]
        needed = int(s.fixed_rate * s.fixed_duration * 1.1) + 100
        cross_refs = os.path.join(run, "refs/fixed-notify.txt")
        seconds = math.ceil(needed / max(self.create_rate, 100) * 1.2) + 1
        self._create("F", cross_refs, seconds)
        lines["notify"] = [orders.notify_line("notify", "/notify", ref) for ref in orders.refs(cross_refs)[:needed]]
        php_refs = os.path.join(run, "refs/fixed-php-notify.txt")
        orders.php_setup(self.tools["php"], self.stack.root, self.stack.php_data, self.template_order, "PF", needed, php_refs)
        lines["php-notify"] = [orders.notify_line("php-notify", "/php/notify", ref) for ref in orders.refs(php_refs)]
        for row in ("c", "cross", "render", "php-render", "notify", "php-notify"):
            path = os.path.join(run, f"refs/fixed-{row}.txt")
            with open(path, "w") as f:
                f.write("\n".join(lines[row]) + "\n")
            once = row in ("notify", "php-notify")
            result = self._timed(row, lambda: load.pace(self.tools["pace"], self.stack.port, path, s.fixed_rate,
                                                        s.fixed_duration, connections=s.connections, once=once)[row])
            if "rss_kb" in result.extra:
                self.fixed_rss[row] = result.extra["rss_kb"]
            self.fixed[row] = result
            if result.failed:
                self.failures.append((row + " (fixed rate)", 1, result))
            log(f"  {row:<11} {result.rps:>9,.0f} req/s  p99 {result.p99_ms:7.2f} ms  late {result.extra['late']}")

    # -- the report --------------------------------------------------------------------------------------

    def print_report(self, machine):
        s = self.s
        med = {row: {k: report.median([getattr(r, k) for r in rs]) for k in ("rps", "p50_ms", "p99_ms", "p999_ms")}
               for row, rs in self.results.items() if rs}
        for row, rs in self.results.items():
            if rs:
                med[row]["cpu_us"] = report.median([r.extra["cpu_us"] for r in rs])
                med[row]["kernel_pct"] = report.median([r.extra["kernel_pct"] for r in rs])
        cpu = lambda row: med[row]["cpu_us"]
        rate = lambda row: med[row]["rps"]
        ratio = {
            "static": "ceiling",
            "c": "reference",
            "cross": f"{100 * rate('cross') / rate('c'):.0f}% of C",
            "render": f"{rate('render') / rate('php-render'):.2f}x PHP, {100 * rate('render') / rate('c'):.0f}% of C",
            "php-render": "",
            "notify": f"{rate('notify') / rate('php-notify'):.2f}x PHP",
            "php-notify": "",
            "create": "",
        }
        failed_rows = {row for row, _, _ in self.failures}
        rows = []
        for row in LABELS:
            if row not in med:
                continue
            m = med[row]
            rss = f"{max(self.rss[row]) / 1024:.1f} MB" if row in CROSS_ROWS else ""
            label = LABELS[row] + (" FAILED" if row in failed_rows else "")
            rows.append([label, report.fmt_rate(m["rps"]), report.fmt_ms(m["p50_ms"]), report.fmt_ms(m["p99_ms"]),
                         report.fmt_ms(m["p999_ms"]), f"{m['cpu_us']:.0f}", f"{m['kernel_pct']:.0f}%", rss, ratio[row]])
        out = [""]
        out.append(f"Cross benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}")
        out += report.describe_machine(machine)
        out.append(f"load:    wrk -t{s.threads} -c{s.connections} through nginx (2 workers), {s.rounds} alternating "
                   f"rounds x {s.duration} s, medians; cross serve --workers {s.workers}; php-fpm pm=static "
                   f"{s.workers} ({self.tools['php_version']}, opcache)")
        out.append(f"checkout pages: {s.render_orders} orders, cross page {self.page_sizes[0]} bytes, "
                   f"PHP page {self.page_sizes[1]} bytes; peak RSS = VmHWM of cross serve during the row (max over rounds)")
        out.append("CPU us/req = CPU time of the responder (with its workers; nginx for the static file) per request; "
                   "kernel = the share of it spent in system calls")
        out.append("")
        out += report.table(rows, header=("row", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "CPU us/req", "kernel",
                                          "peak RSS", "ratio"))
        out.append("")
        out.append("targets:")
        targets = [
            ("cross/PHP checkout render", rate("render") / rate("php-render"), 2.0, "x", True),
            ("cross/PHP notifications", rate("notify") / rate("php-notify"), 2.0, "x", True),
            ("cross render vs C /healthz", 100 * rate("render") / rate("c"), 90, "%", True),
            ("cross notifications/s", rate("notify"), 3000, "/s", True),
            ("cross peak RSS, whole run", self.rss_monitor.peak_kb / 1024, 40, " MB", False),
        ]
        for name, value, target, unit, higher in targets:
            shown = f"{value:,.2f}{unit}" if unit == "x" else f"{value:,.0f}{unit}" if unit != " MB" else f"{value:.1f}{unit}"
            goal = ("≥ " if higher else "≤ ") + (f"{target:g}{unit}" if unit != "/s" else f"{target:,}{unit}")
            out.append(f"  {name:<28} {shown:>10}   target {goal:<10} {report.verdict(value, target, higher)}")
        out.append(f"  (CPU per request, which other load disturbs much less: PHP/cross {cpu('php-render') / cpu('render'):.2f}x "
                   f"for the checkout page, {cpu('php-notify') / cpu('notify'):.2f}x for the notification; "
                   f"cross render {cpu('render') / cpu('c'):.1f}x the C /healthz)")
        if self.fixed:
            out.append("")
            out.append(f"fixed rate (bench/tools/pace: open loop, {s.fixed_rate:,} req/s for {s.fixed_duration} s, "
                       f"{s.connections} connections, latency counted from when each request was due; one run per row):")
            rows = []
            for row in ("c", "cross", "render", "php-render", "notify", "php-notify"):
                if row in self.fixed:
                    r = self.fixed[row]
                    rss = f"{self.fixed_rss[row] / 1024:.1f} MB" if row in self.fixed_rss else ""
                    rows.append([LABELS[row], report.fmt_rate(r.rps), report.fmt_ms(r.p50_ms), report.fmt_ms(r.p99_ms),
                                 report.fmt_ms(r.p999_ms), report.fmt_ms(r.max_ms), f"{r.extra['cpu_us']:.0f}", rss,
                                 str(r.extra["late"])])
            out += report.table(rows, header=("row", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "CPU us/req",
                                              "peak RSS", "late"))
            out.append("  late: requests sent more than 1 ms after they were due (every connection was busy)")
        out.append("")
        self.rss_monitor.stop()
        status = proc_status(self.stack.cross_pid)
        rss_kb, anonymous_kb, pss_kb = memory_split(self.stack.cross_pid)
        out.append(f"cross serve: peak RSS over the whole run {self.rss_monitor.peak_kb / 1024:.1f} MB "
                   f"({self.rss_monitor.peak_at:.0f} s into it); at the end RSS {status['VmRSS'] / 1024:.1f} MB, "
                   f"{status['Threads']} threads, {open_fds(self.stack.cross_pid)} open files; journal "
                   f"{journal_bytes(self.stack.cross_data) / 2**20:.0f} MB")
        out.append(f"  its RSS at the end: {(rss_kb - anonymous_kb) / 1024:.1f} MB of mapped files (the Swift runtime, "
                   f"Foundation and the other libraries' pages) and {anonymous_kb / 1024:.1f} MB anonymous (heap, stacks); "
                   f"PSS {pss_kb / 1024:.1f} MB (pages shared with other processes counted in part)")
        other, steal = self.cpu.report()
        out.append(f"other processes used {other:.0f}% of the machine during the run (steal {steal:.0f}%); "
                   f"load average at the start {self.load_at_start:.2f}")
        if other > 5 or steal > 5:
            out.append("WARNING: the machine was not idle: other work competed with the benchmark; these figures "
                       "understate what it can do. Run again on a quiet machine.")
        out.append("per round, requests/s | responder CPU us/req:")
        for row, rs in self.results.items():
            out.append(f"  {row:<11} " + " ".join(f"{r.rps:,.0f}" for r in rs) + "  |  "
                       + " ".join(f"{r.extra['cpu_us']:.0f}" for r in rs))
        if self.failures:
            out.append("")
            out.append("FAILED rows (a non-2xx answer or a transport error counts as a failure):")
            for row, round_number, r in self.failures:
                out.append(f"  {row}, round {round_number}: {r.errors} errors, {r.non2xx} non-2xx of {r.requests}; "
                           f"first: {r.first_failure[:200]}")
        print("\n".join(out))
        return not self.failures


def run(stack, settings, tools, machine):
    bench = Bench(stack, settings, tools)
    log(f"setting up: {settings.render_orders} orders with a session id each ...")
    bench.setup_checkout()
    bench.warm_up()
    bench.run_rounds()
    if settings.fixed_rate > 0:
        bench.run_fixed()
    return bench.print_report(machine)
