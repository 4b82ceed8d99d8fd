"""The processes a benchmark run talks to, in a temporary folder of their own: cross serve, the TMoney sandbox,
the C reference responder, php-fpm with the PHP reference, and nginx in front of them all.

Configurations are generated there: cross's from config/cross.dev.json (every field copied, the ones that
name places overridden), the sandbox's from config/sandbox.dev.json (the merchant notifies this cross).
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

API_KEY = "bench-api-key-0123456789abcdef"


def log(message):
    print(message, file=__import__("sys").stderr, flush=True)


class ProcessFailed(Exception):
    pass


class Stack:
    def __init__(self, root, run, port, sandbox_port, workers, session_lifetime=3600, php=True, c=True,
                 sandbox_session_lifetime=None):
        self.root = root
        self.run = run
        self.port = port
        self.sandbox_port = sandbox_port
        self.workers = workers
        self.session_lifetime = session_lifetime
        self.with_php = php
        self.with_c = c
        self.sandbox_session_lifetime = sandbox_session_lifetime
        self.base = f"http://127.0.0.1:{port}"
        self.processes = {}  # name -> Popen, in start order
        self.cross_config = None
        # `cross serve --checkpoint-seconds` when set (the growth row closes segments often).
        self.checkpoint_seconds = None

    # -- files -------------------------------------------------------------------------------------------

    def write_configs(self):
        run = self.run
        for folder in ("logs", "tmp", "www/static", "refs", "php-data/orders"):
            os.makedirs(os.path.join(run, folder), exist_ok=True)
        # nginx's workers run as nobody when nginx is started as root: they must reach the sockets here.
        os.chmod(run, 0o755)
        with open(os.path.join(run, "www/static/ok.txt"), "w") as f:
            f.write("ok\n")

        with open(os.path.join(self.root, "config/cross.dev.json")) as f:
            cross = json.load(f)
        cross.update({
            "gateway_url": f"http://127.0.0.1:{self.sandbox_port}",
            "public_url": self.base,
            "return_urls": {k: self.base + "/shop/" for k in ("accept", "decline", "cancel")},
            "allowed_return_hosts": ["127.0.0.1", "localhost"],
            "notification_path": "/notify",
            "notification_allowlist": ["127.0.0.1"],
            "data_directory": os.path.join(run, "cross-data"),
            "api_keys": [API_KEY],
            # The checkout rows measure the page of an order whose session id is still good; with the
            # development lifetime (180 s) every order would ask the sandbox again mid-run, all at once.
            "session_lifetime_seconds": self.session_lifetime,
        })
        # MBANKING is the sandbox's, on this run's port. Reconciliation's background job leaves the push rows'
        # attempts alone (its first check after an hour): the reconciliation row times `cross reconcile` itself.
        sandbox_base = f"http://127.0.0.1:{self.sandbox_port}/mbanking"
        cross["mbanking"].update({"login_url": sandbox_base, "push_url": sandbox_base + "/tmoney-middleware",
                                  "credit_url": sandbox_base + "/api/tpcredit"})
        cross["mbanking_callback_allowlist"] = ["127.0.0.1"]
        flooz_base = f"http://127.0.0.1:{self.sandbox_port}/flooz"
        cross["flooz"].update({"token_url": flooz_base + "/token", "debit_url": flooz_base + "/debit", "verify_url": flooz_base + "/verify"})
        cross["flooz_callback_allowlist"] = ["127.0.0.1"]
        cross["reconciliation_first_check_seconds"] = 3600
        # No merchant endpoint listens during the benchmark: deliveries would only fail and be retried.
        cross.pop("webhooks", None)
        self.cross_config = cross
        self._write_json("cross.json", cross)

        with open(os.path.join(self.root, "config/sandbox.dev.json")) as f:
            sandbox = json.load(f)
        for merchant in sandbox["merchants"]:
            merchant["allowed_addresses"] = ["127.0.0.1"]
            merchant["notification_url"] = self.base + "/notify"
            for page in ("accept_url", "decline_url", "cancel_url"):
                merchant[page] = self.base + "/shop/"
        for partner in sandbox["mbanking"]["partners"]:
            partner["callback_url"] = self.base + "/callbacks/tmoney"
        for partner in sandbox["flooz"]["partners"]:
            partner["callback_url"] = self.base + "/callbacks/flooz"
        self._write_json("sandbox.json", sandbox)

        self._render("bench/nginx.conf.template", "nginx.conf")
        if self.with_php:
            self._render("bench/php/php-fpm.conf.template", "php-fpm.conf", {
                "@WORKERS@": str(self.workers), "@LINK_SECRET@": cross["link_secret"],
                "@GATEWAY_URL@": cross["gateway_url"], "@MERCHANT_ID@": cross["merchant_id"],
                "@PUBLIC_URL@": self.base,
            })

    def _write_json(self, name, value):
        with open(os.path.join(self.run, name), "w") as f:
            json.dump(value, f, indent=2, ensure_ascii=False)

    def _render(self, template, name, extra=None):
        with open(os.path.join(self.root, template)) as f:
            text = f.read()
        values = {"@RUN@": self.run, "@ROOT@": self.root, "@PORT@": str(self.port),
                  "@SANDBOX_PORT@": str(self.sandbox_port), **(extra or {})}
        for key, value in values.items():
            text = text.replace(key, value)
        with open(os.path.join(self.run, name), "w") as f:
            f.write(text)

    # -- processes ---------------------------------------------------------------------------------------

    def _start(self, name, argv):
        out = open(os.path.join(self.run, "logs", name + ".log"), "ab")
        # A crash leaves a core file in the run folder (kept when a run fails): a release build traps silently.
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        unlimited_core = lambda: resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        self.processes[name] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=self.run,
                                                preexec_fn=unlimited_core)

    def start(self, cross_binary, c_binary=None, php_fpm=None):
        run = self.run
        sandbox = [cross_binary, "sandbox", "--config", os.path.join(run, "sandbox.json"),
                   "--state", os.path.join(run, "sandbox-state.json"),
                   "--listen", os.path.join(run, "sandbox.sock"), "--socket-mode", "666"]
        if self.sandbox_session_lifetime:
            sandbox += ["--session-lifetime", str(self.sandbox_session_lifetime)]
        self._start("sandbox", sandbox)
        self._start("cross", [cross_binary, "serve", "--dev", "--config", os.path.join(run, "cross.json"),
                              "--listen", os.path.join(run, "cross.sock"), "--socket-mode", "666",
                              "--workers", str(self.workers)]
                    + (["--checkpoint-seconds", str(self.checkpoint_seconds)] if self.checkpoint_seconds else []))
        if self.with_c:
            self._start("c-responder", [c_binary, os.path.join(run, "c.sock"), str(self.workers)])
        if self.with_php:
            argv = [php_fpm, "--nodaemonize", "--fpm-config", os.path.join(run, "php-fpm.conf")]
            if os.geteuid() == 0:
                argv.append("--allow-to-run-as-root")  # as cross serve runs: same user, same files
            self._start("php-fpm", argv)
        self._start("nginx", ["nginx", "-p", run, "-e", os.path.join(run, "logs/error.log"),
                              "-c", os.path.join(run, "nginx.conf")])
        checks = ["/healthz", "/static/ok.txt"] + (["/c/healthz"] if self.with_c else [])
        deadline = time.time() + 30
        while True:
            self.check_alive()
            if all(self._ok(path) for path in checks) and self._sandbox_ok():
                break
            if time.time() > deadline:
                raise ProcessFailed("the stack did not answer within 30 s; see " + os.path.join(run, "logs"))
            time.sleep(0.1)
        if self.with_php:
            deadline = time.time() + 10
            while not os.path.exists(os.path.join(run, "php.sock")):
                self.check_alive()
                if time.time() > deadline:
                    raise ProcessFailed("php-fpm did not open its socket; see " + os.path.join(run, "logs/php-fpm.log"))
                time.sleep(0.1)

    def _ok(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _sandbox_ok(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.sandbox_port}/sandbox", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answers
        except (urllib.error.URLError, OSError):
            return False

    def check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                code = process.returncode
                how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
                if code in (-signal.SIGILL, -signal.SIGTRAP):
                    how += " (a Swift runtime trap: precondition, force unwrap, overflow, index out of range)"
                raise ProcessFailed(f"{name} {how} at {time.strftime('%H:%M:%S')}; see {self.run}/logs/{name}.log")

    def stop(self):
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                # nginx stops at once on SIGTERM, php-fpm too; cross finishes what is in flight.
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def cross_pid(self):
        return self.processes["cross"].pid

    @property
    def cross_data(self):
        return os.path.join(self.run, "cross-data")

    @property
    def php_data(self):
        return os.path.join(self.run, "php-data")


# -- /proc ---------------------------------------------------------------------------------------------------

def proc_status(pid):
    """VmRSS, VmHWM (kB) and Threads of a process (0 once it has exited: a zombie has no memory)."""
    values = {"VmRSS": 0, "VmHWM": 0, "Threads": 0}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                values[key] = int(rest.split()[0])
    return values


def tree_cpu_split(root_pid):
    """CPU time of a process and its live descendants (php-fpm's and nginx's workers), as (user, system)
    seconds: what the program does, and what the kernel does for it."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            times[int(entry)] = (int(fields[11]), int(fields[12]))
    user = system = 0
    for pid, (user_ticks, system_ticks) in times.items():
        p = pid
        while p != root_pid and p in parents and p > 1:
            p = parents[p]
        if p == root_pid:
            user += user_ticks
            system += system_ticks
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def memory_split(pid):
    """(RSS, anonymous, PSS) in kB from /proc/PID/smaps_rollup. The rest of RSS is mapped files, mostly the
    libraries' pages; PSS counts a page shared with other processes (the sandbox is the same binary) in part."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Anonymous", "Pss"):
                values[key] = int(rest.split()[0])
    return values.get("Rss", 0), values.get("Anonymous", 0), values.get("Pss", 0)


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def journal_bytes(data):
    """The journal's size: every segment file of data/journal (docs/storage.md)."""
    folder = os.path.join(data, "journal")
    return sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder)
               if name.startswith("segment-") and name.endswith(".jsonl"))


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux 4.0+: `echo 5 > clear_refs`); False if not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RSSWatch:
    """The peak RSS of a process over a span of time: VmHWM reset at the start and read at the end, and VmRSS
    sampled every 100 ms meanwhile (the fallback where clear_refs is not writable)."""

    def __init__(self, pid):
        self.pid = pid
        self.sampled_peak = 0
        self.exact = False
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        self.exact = reset_peak_rss(self.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.1):
            try:
                self.sampled_peak = max(self.sampled_peak, proc_status(self.pid)["VmRSS"])
            except OSError:
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        status = proc_status(self.pid)
        self.peak_kb = max(self.sampled_peak, status["VmRSS"], status["VmHWM"] if self.exact else 0)
        return False


class RSSMonitor:
    """VmRSS of a process sampled every 100 ms for the whole run (VmHWM cannot say it: RSSWatch resets it per
    row): the peak, and when it happened."""

    def __init__(self, pid):
        self.pid = pid
        self.peak_kb = 0
        self.peak_at = None
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._stop.wait(0.1):
            try:
                rss = proc_status(self.pid)["VmRSS"]
            except OSError:
                return
            if rss > self.peak_kb:
                self.peak_kb, self.peak_at = rss, time.time() - self.started

    def stop(self):
        self._stop.set()
        self._thread.join()


def copy_orders(source_data, target_data, keys):
    """Copies order files (Cross's layout) into the PHP reference's data folder, each with a lock file."""
    for key in keys:
        shard = key[:3]
        os.makedirs(os.path.join(target_data, "orders", shard), exist_ok=True)
        shutil.copyfile(os.path.join(source_data, "orders", shard, key + ".json"),
                        os.path.join(target_data, "orders", shard, key + ".json"))
        open(os.path.join(target_data, "orders", shard, key + ".lock"), "a").close()


class CPUAccount:
    """CPU time of the whole machine against that of the benchmark's own processes (this script and everything
    it started), over a span: what other processes took is what disturbed the measurements."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK")
        self.started = time.time()
        self.busy0, self.steal0 = self._machine()
        self.ours0 = self._ours()

    @staticmethod
    def _machine():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return user + nice + system + irq + softirq, steal

    @staticmethod
    def _ours():
        """Jiffies used by this process's tree: the live descendants, and the children already waited for."""
        parents, times = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry)
            parents[pid] = int(fields[1])
            times[pid] = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        me = os.getpid()
        total = 0
        for pid in times:
            p = pid
            while p not in (0, 1, me) and p in parents:
                p = parents[p]
            if p == me:
                total += times[pid]
        return total

    def report(self):
        """(other processes' share of the machine, steal share), in % of all CPUs over the span."""
        busy, steal = self._machine()
        ours = self._ours() - self.ours0
        capacity = (time.time() - self.started) * self.hz * os.cpu_count()
        other = max(0, (busy - self.busy0) - ours)
        return 100 * other / capacity, 100 * (steal - self.steal0) / capacity
