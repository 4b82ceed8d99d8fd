"""The data folder's growth (BENCH_ROWS=growth): an hour of a busy shop's traffic, then what is left on disk.

An hour of a busy shop is GROWTH_ORDERS orders (18,000: five a second for an hour), each created through the
API, paid by TMoney's notification, and notified once more (a duplicate, as TMoney does when its first call
timed out): three requests and two changes of the order each, sent by GROWTH_CLIENTS threads as fast as Cross
answers. A merchant's endpoint (a small HTTP server of this run's) takes every webhook event. Cross runs with 1 MB journal segments, a checkpoint every 2 s, and both retentions at their smallest
(journal_retention_days and webhook_sent_retention_days 0.001: 86 s), so that an hour shows what a year would
do with the defaults. After the traffic, the run waits out the retention and restarts Cross (the outbox's
retention pass runs at start and then hourly), then measures every folder.

Passes when what is left is bounded by the orders, not by the changes: the dashboard index at most 1.2 lines per
order (one once compacted, plus the changes of the segment still open), the journal at most three segments, and
outbox/sent/ empty of events older than the retention.
"""
import http.server
import os
import signal
import socket
import threading
import time

import orders as orders_module
from stack import API_KEY, log

SEGMENT_MB = 1
RETENTION_DAYS = 0.001


class Receiver(http.server.BaseHTTPRequestHandler):
    """The merchant's webhook endpoint: takes every event."""
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def folder_size(path):
    files = size = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                size += os.lstat(os.path.join(root, name)).st_size
                files += 1
            except FileNotFoundError:
                pass  # moved or removed while we walked
    return files, size


def snapshot(data):
    parts = {}
    for name in ("orders", "journal", "outbox", "index", "archive"):
        parts[name] = folder_size(os.path.join(data, name))
    return parts


def index_lines(data):
    path = os.path.join(data, "index", "orders.tsv")
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def traffic(stack, count, clients):
    """Creates, pays and pays again `count` orders from `clients` threads; returns the seconds it took."""
    failures = []
    lock = threading.Lock()
    next_index = [0]

    def worker():
        client = orders_module.Client(stack.port, API_KEY)
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count or failures:
                return
            ref = f"GROWTH-{index:06d}"
            try:
                client.create(ref)
                query = orders_module.NOTIFY_QUERY.format(ref=ref)
                for _ in range(2):
                    client.get("/notify?" + query)
            except Exception as error:  # noqa: BLE001 - any failure ends the run, reported below
                with lock:
                    failures.append(f"{ref}: {error}")
                return

    started = time.time()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError("traffic failed: " + failures[0])
    return time.time() - started


def restart_cross(stack):
    process = stack.processes["cross"]
    argv = process.args
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    stack._start("cross", argv)
    deadline = time.time() + 30
    while not stack._ok("/healthz"):
        stack.check_alive()
        if time.time() > deadline:
            raise RuntimeError("cross did not answer after its restart")
        time.sleep(0.1)


def print_table(title, parts, orders):
    log(f"  {title}")
    total = 0
    for name, (files, size) in parts.items():
        total += size
        log(f"    {name:<8} {files:>8} files {size / 1e6:>9.1f} MB   {size / max(orders, 1):>8.0f} bytes/order")
    log(f"    {'total':<8} {'':>8}       {total / 1e6:>9.1f} MB   {total / max(orders, 1):>8.0f} bytes/order")
    return total


def run(stack, tools):
    count = int(os.environ.get("GROWTH_ORDERS", 18000))
    clients = int(os.environ.get("GROWTH_CLIENTS", 8))
    data = stack.cross_data
    log(f"growth: {count} orders (create, notify, notify again) from {clients} clients; "
        f"segments {SEGMENT_MB} MB, retention {RETENTION_DAYS} day ({RETENTION_DAYS * 86400:.0f} s)")
    began = time.time()
    seconds = traffic(stack, count, clients)
    log(f"  traffic: {3 * count} requests in {seconds:.1f} s ({3 * count / seconds:.0f} req/s)")
    # Every event delivered before the sizes are taken (one an order: order.paid).
    pending = os.path.join(data, "outbox", "pending")
    deadline = time.time() + 600
    while time.time() < deadline and folder_size(pending)[0] > 0:
        stack.check_alive()
        time.sleep(1)
    log(f"  webhook events delivered {time.time() - began:.0f} s after the traffic began; "
        f"{folder_size(pending)[0]} left pending")
    after = snapshot(data)
    print_table("right after the traffic", after, count)
    peak_journal = after["journal"][1]

    # The segments close at the checkpoints and are removed once older than the retention, and the last events
    # delivered become older than it: the run waits out the retention (wall-clock time is what it is about).
    wait = RETENTION_DAYS * 86400 + 10
    log(f"  waiting {wait:.0f} s (the retention), then restarting cross (the outbox's pass runs at start)")
    deadline = time.time() + wait
    limit = 3 * SEGMENT_MB * 1_048_576
    while time.time() < deadline:
        stack.check_alive()
        time.sleep(2)
    restart_cross(stack)
    # The retention pass runs in the background after the start (it reads each event's delivery time): wait
    # until sent/ holds no old event.
    deadline = time.time() + 600
    while time.time() < deadline and folder_size(os.path.join(data, "outbox", "sent"))[0] > 2:
        time.sleep(1)
    final = snapshot(data)
    total = print_table("after the retention", final, count)
    lines = index_lines(data)
    journal = final["journal"][1]
    sent_files = folder_size(os.path.join(data, "outbox", "sent"))[0]
    delivered = after["outbox"][0]
    checks = [
        (lines <= 1.2 * count, f"index: {lines} lines for {count} orders ({lines / count:.2f} a order; 2 changes each)"),
        (journal <= limit, f"journal: {journal / 1e6:.1f} MB left of {peak_journal / 1e6:.1f} MB written (at most 3 segments)"),
        (sent_files <= 2 and delivered >= count, f"outbox: {delivered} event files after the traffic, {sent_files} left in sent/ after the retention"),
    ]
    for passed, text in checks:
        log(f"  {'ok  ' if passed else 'FAIL'} {text}")
    log(f"  the data folder holds {total / count:.0f} bytes per order, of which the order files "
        f"{final['orders'][1] / count:.0f}")
    return all(passed for passed, _ in checks)


def configure(stack):
    """The settings of this row, applied to cross's configuration before the stack starts, and the merchant's
    webhook endpoint started."""
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.cross_config.update({
        "webhooks": [{"url": f"http://127.0.0.1:{port}/hook", "secret": "growth-webhook-secret-0123456789"}],
        "journal_segment_mb": SEGMENT_MB,
        "journal_retention_days": RETENTION_DAYS,
        "webhook_sent_retention_days": RETENTION_DAYS,
    })
    stack._write_json("cross.json", stack.cross_config)
    stack.checkpoint_seconds = 2
