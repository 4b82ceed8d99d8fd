"""The rows of paying from the phone, against the sandbox playing MBANKING (bench/run; PUSH=0 leaves them out):

  push payment   the whole of one payment as Cross does it: the merchant's POST /api/orders/{ref}/push (Cross
                 records the attempt, the sandbox takes the debit), the shopper's approval (the sandbox's test
                 API), then the callback, recorded, confirmed by check-transaction and applied, until the order
                 reads paid through the API. PUSH_PAYMENTS payments (300), PUSH_CONCURRENCY at once (4: the
                 places for operator calls, gateway_concurrency).
  reconciliation one `cross reconcile` pass (forced) over RECONCILE_ATTEMPTS open push attempts (10,000) whose
                 debit the sandbox never recorded (a 500 on every debit, by its fault switch): a check-transaction
                 and a durable record per attempt, while cross serve runs.
"""
import http.client
import json
import os
import subprocess
import threading
import time
import urllib.parse

import report
from stack import API_KEY, log


class Client:
    """One kept-alive connection to nginx (Cross and the sandbox are both behind it)."""

    def __init__(self, port):
        self.port = port
        self.connection = None

    def call(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                data = response.read()
                return response.status, data
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise

    def api(self, method, path, value=None):
        headers = {"Authorization": "Bearer " + API_KEY}
        body = None
        if value is not None:
            body = json.dumps(value)
            headers["Content-Type"] = "application/json"
        return self.call(method, path, body, headers)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def in_parallel(count, body):
    errors = []

    def run(index):
        try:
            body(index)
        except Exception as error:  # noqa: BLE001 -- reported as the row's failure
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def push_row(stack, payments, concurrency, phone="90000001", prefix="PUSH-BENCH"):
    refs = [f"{prefix}-{n:05d}" for n in range(payments)]
    setup = Client(stack.port)
    for ref in refs:
        status, body = setup.api("POST", "/api/orders", {"purchaseref": ref, "amount": 1500})
        if status not in (200, 201):
            raise RuntimeError(f"order {ref}: {status} {body[:200]!r}")
    push_ms, confirm_ms, whole_ms = [], [], []
    lock = threading.Lock()
    queue = list(refs)
    busy = [0]

    def worker(index):
        cross, sandbox = Client(stack.port), Client(stack.sandbox_port)
        while True:
            with lock:
                if not queue:
                    return
                ref = queue.pop()
            start = time.perf_counter()
            status, body = cross.api("POST", f"/api/orders/{ref}/push", {"phone": phone})
            while status == 503:  # every place for an operator call taken: as a merchant would, again
                with lock:
                    busy[0] += 1
                time.sleep(0.01)
                status, body = cross.api("POST", f"/api/orders/{ref}/push", {"phone": phone})
            pushed = time.perf_counter()
            if status != 202:
                raise RuntimeError(f"push {ref}: {status} {body[:200]!r}")
            reference = json.loads(body)["attempt"]["reference"]
            status, body = sandbox.call("GET", "/sandbox/api/prompts?phone=" + phone)
            prompt = next((p for p in json.loads(body) if p.get("reference") == reference), None)
            if prompt is None:
                raise RuntimeError(f"no prompt for {ref}")
            status, body = sandbox.call("POST", "/sandbox/api/prompts/" + urllib.parse.quote(prompt["id"]),
                                        json.dumps({"pin": "1234"}), {"Content-Type": "application/json"})
            approved = time.perf_counter()
            if status != 200 or json.loads(body).get("status") != "SUCCES":
                raise RuntimeError(f"approval {ref}: {status} {body[:200]!r}")
            path = "/api/orders/" + urllib.parse.quote(ref, safe="")
            deadline = approved + 30
            while True:
                status, body = cross.api("GET", path)
                if status == 200 and json.loads(body).get("status") == "paid":
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{ref} not paid 30 s after its approval")
                time.sleep(0.002)
            done = time.perf_counter()
            with lock:
                push_ms.append(1000 * (pushed - start))
                confirm_ms.append(1000 * (done - approved))
                whole_ms.append(1000 * (done - start))

    started = time.perf_counter()
    errors = in_parallel(concurrency, worker)
    elapsed = time.perf_counter() - started
    return {"payments": len(whole_ms), "elapsed": elapsed, "push": push_ms, "confirm": confirm_ms, "whole": whole_ms,
            "errors": errors, "busy": busy[0]}


def reconcile_row(stack, tools, attempts, concurrency=4):
    sandbox = Client(stack.sandbox_port)
    for first in range(0, attempts, 1000):  # the sandbox queues at most 1000 faults a call
        status, body = sandbox.call("POST", "/sandbox/api/mbanking/faults",
                                    json.dumps({"fault": "server_error", "on": "debit", "count": min(1000, attempts - first)}),
                                    {"Content-Type": "application/json"})
        if status != 200:
            raise RuntimeError(f"faults: {status} {body[:200]!r}")
    queue = list(range(attempts))
    lock = threading.Lock()

    def worker(index):
        cross = Client(stack.port)
        while True:
            with lock:
                if not queue:
                    return
                n = queue.pop()
            ref = f"RECONCILE-{n:05d}"
            status, body = cross.api("POST", "/api/orders", {"purchaseref": ref, "amount": 2000})
            if status not in (200, 201):
                raise RuntimeError(f"order {ref}: {status} {body[:200]!r}")
            status, body = cross.api("POST", f"/api/orders/{ref}/push", {"phone": "91000001"})
            while status == 503:  # every place for an operator call taken: as a merchant would, again
                time.sleep(0.01)
                status, body = cross.api("POST", f"/api/orders/{ref}/push", {"phone": "91000001"})
            if status != 202 or json.loads(body)["attempt"]["state"] != "unconfirmed":
                raise RuntimeError(f"push {ref}: {status} {body[:200]!r}")

    started = time.perf_counter()
    errors = in_parallel(concurrency, worker)
    made = time.perf_counter() - started
    if errors:
        return {"errors": errors}
    config = os.path.join(stack.run, "cross.json")
    started = time.perf_counter()
    result = subprocess.run([tools["cross"], "reconcile", "--config", config], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    summary = [line for line in result.stdout.splitlines() if "open push attempt" in line]
    return {"attempts": attempts, "made": made, "elapsed": elapsed, "exit": result.returncode,
            "summary": summary[0] if summary else result.stdout[-300:] + result.stderr[-300:], "errors": []}


def run(stack, tools):
    payments = int(os.environ.get("PUSH_PAYMENTS", 300))
    concurrency = int(os.environ.get("PUSH_CONCURRENCY", 4))
    attempts = int(os.environ.get("RECONCILE_ATTEMPTS", 10000))
    log(f"push payment rows: {payments} payments, {concurrency} at once, with TMoney then Flooz ...")
    pushes = {"TMoney": push_row(stack, payments, concurrency, "90000001", "PUSH-TMONEY"),
              "Flooz": push_row(stack, payments, concurrency, "96000001", "PUSH-FLOOZ")}
    log(f"reconciliation row: {attempts} open attempts ...")
    rec = reconcile_row(stack, tools, attempts)
    out = ["", "paying from the phone, against the sandbox playing MBANKING and Flooz (bench/lib/push.py):"]
    ok = all(not push["errors"] for push in pushes.values()) and not rec["errors"] and rec.get("exit") == 0
    rows = []
    for name, push in pushes.items():
        if not push["whole"]:
            continue
        rows += [
            [f"{name}: push request (record + debit)", report.fmt_ms(percentile(push["push"], 0.5)), report.fmt_ms(percentile(push["push"], 0.99)), ""],
            [f"{name}: approval → paid (callback, status call, applied)", report.fmt_ms(percentile(push["confirm"], 0.5)),
             report.fmt_ms(percentile(push["confirm"], 0.99)), ""],
            [f"{name}: whole payment", report.fmt_ms(percentile(push["whole"], 0.5)), report.fmt_ms(percentile(push["whole"], 0.99)),
             f"{push['payments'] / push['elapsed']:.0f} payments/s ({push['payments']} in {push['elapsed']:.1f} s, {concurrency} at once; "
             f"{push['busy']} busy answers retried)"],
        ]
    out += report.table(rows, header=("push payment", "p50 ms", "p99 ms", "throughput"))
    for name, push in pushes.items():
        for error in push["errors"][:5]:
            out.append(f"  {name} push FAILED: " + error)
    if rec.get("elapsed"):
        out.append(f"reconciliation: one forced pass over {rec['attempts']:,} open attempts took {rec['elapsed']:.1f} s "
                   f"({rec['attempts'] / rec['elapsed']:,.0f} attempts/s: a check-transaction and a durable record each; "
                   f"making them took {rec['made']:.1f} s); cross reconcile said: {rec['summary']}")
        if rec["exit"] != 0:
            out.append(f"  reconciliation FAILED: cross reconcile exited {rec['exit']}")
    for error in rec["errors"][:5]:
        out.append("  reconciliation FAILED: " + error)
    print("\n".join(out))
    return ok
