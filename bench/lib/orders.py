"""Orders for the benchmark: made through Cross's API (or, for the PHP reference, by bench/php/setup.php),
their keys and links as Cross computes them, and the request lists the load generators walk."""
import hashlib
import hmac
import http.client
import json
import os
import subprocess

NOTIFY_QUERY = ("purchaseref={ref}&amount=15000&currency=952&status=OK&clientid=C1&cname=Kofi+Mensah"
                "&mobile=22890000001&paymentref=PR-{ref}&payid=PAY-{ref}&timestamp=1469024554&error=")


def order_key(ref):
    return hashlib.sha256(ref.encode()).hexdigest()[:32]


def link_token(key, secret):
    """`<key>-<first 16 hex digits of HMAC-SHA256(secret, key)>`, as Cross's OrderLink."""
    return key + "-" + hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:16]


class Client:
    """A kept-alive HTTP connection to the benchmark's nginx, for set-up steps (not timed)."""

    def __init__(self, port, api_key):
        self.port = port
        self.api_key = api_key
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.api_key}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                # nginx closed the kept-alive connection: once more on a new one.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise

    def create(self, ref, description="Sac de riz 25 kg"):
        status, body = self.request("POST", "/api/orders", {"purchaseref": ref, "amount": 15000, "description": description})
        if status not in (200, 201):
            raise RuntimeError(f"creating {ref}: HTTP {status}: {body[:300]!r}")
        return json.loads(body)

    def get(self, path, expect=200):
        status, body = self.request("GET", path)
        if status != expect:
            raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
        return body


def make_checkout_orders(client, prefix, count, link_secret):
    """`count` orders through the API, each checkout page opened once (Cross asks the sandbox for a session id
    and records it). Returns [(ref, key, "/pay/<token>")]."""
    orders = []
    for n in range(1, count + 1):
        ref = f"{prefix}-{n}"
        created = client.create(ref)
        path = "/pay/" + created["checkout_url"].rsplit("/pay/", 1)[1]
        key = order_key(ref)
        assert path == "/pay/" + link_token(key, link_secret), "link computed differently from Cross's"
        orders.append((ref, key, path))
    for _, _, path in orders:
        page = client.get(path)
        if b'name="sessionid"' not in page:
            raise RuntimeError(f"{path}: the checkout page has no session id: {page[:300]!r}")
    return orders


def refs_count(refs_file):
    if not os.path.exists(refs_file):
        return 0
    with open(refs_file) as f:
        return sum(int(line.split()[2]) for line in f if line.strip())


def refs(refs_file):
    """The purchaserefs a refs file names, in the order notify.lua's threads would take them."""
    out = []
    with open(refs_file) as f:
        for line in f:
            if line.strip():
                prefix, thread, count = line.split()
                out += [f"{prefix}-{thread}-{n}" for n in range(1, int(count) + 1)]
    return out


def php_setup(php, root, data, template, prefix, count, refs_file):
    subprocess.run([php, os.path.join(root, "bench/php/setup.php"), data, template, prefix, str(count), refs_file],
                   check=True)


def notify_line(tag, path, ref):
    return f"{tag} GET {path}?{NOTIFY_QUERY.format(ref=ref)}"
