#!/usr/bin/env python3
"""Load for the fault scripts: writers, a liveness prober, readers, a login
storm. Standard library only; loopback only; every loop is bounded by a
duration or a count. Results are JSON on stdout for the calling script.

  load.py writers  --base URL --token T --writers 20 --seconds 30 --out acked.json
  load.py reads    --base URL --token T --read-id ID --seconds 5
  load.py storm    --base URL --username U --password P --logins 200
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def request(base, method, path, token=None, body=None, timeout=5.0):
    """One request on a fresh connection: (status, body bytes, seconds);
    status 0 when the connection failed or timed out."""
    url = urllib.parse.urlsplit(base)
    assert url.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        payload = res.read()
        return res.status, payload, time.monotonic() - started
    except (OSError, http.client.HTTPException):
        return 0, b"", time.monotonic() - started
    finally:
        conn.close()


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def writers(args):
    """N writers create projects until the time is up. A write counts as
    acknowledged only on 201 with an id; everything else is retried with a
    new name (the old one may or may not have landed: the checks allow that)."""
    acked, statuses, lock = [], {}, threading.Lock()
    live = {"count": 0, "failed": 0, "slowest": 0.0}
    deadline = time.monotonic() + args.seconds
    stop = threading.Event()

    def writer(n):
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            name = f"fault-w{n:02d}-{seq:06d}"
            body = {"park_code": "yueyang", "name": name, "industry": "other",
                    "attraction_mode": "targeted", "planned_investment_usd": 1000 + seq}
            status, payload, _ = request(args.base, "POST", "/api/v1/projects", args.token, body)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
            if status == 201:
                with lock:
                    acked.append({"id": json.loads(payload)["id"], "name": name})
            elif status in (0, 503):
                time.sleep(0.05)

    def prober():
        while not stop.is_set():
            status, _, seconds = request(args.base, "GET", "/api/v1/health/live", timeout=3.0)
            with lock:
                live["count"] += 1
                live["slowest"] = max(live["slowest"], seconds)
                if status != 200:
                    live["failed"] += 1
            time.sleep(0.1)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
    probe = threading.Thread(target=prober)
    probe.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    probe.join()
    with open(args.out, "w") as f:
        json.dump(acked, f)
    json.dump({"acknowledged": len(acked), "statuses": statuses, "live": live}, sys.stdout)
    print()


def reads(args):
    """Reads of one record by two clients for a while: count, failures, p99."""
    path = f"/api/v1/projects/{args.read_id}"
    out, lock = [], threading.Lock()
    end = time.monotonic() + args.seconds

    def reader():
        while time.monotonic() < end:
            status, _, s = request(args.base, "GET", path, args.token)
            with lock:
                out.append((status, s))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [s for st, s in out if st == 200]
    p99 = percentile(ok, 99)
    json.dump({"reads": len(out), "failures": len(out) - len(ok),
               "p99_ms": None if p99 is None else round(p99 * 1000, 1)}, sys.stdout)
    print()


def storm(args):
    """A storm of logins, all at once (each thread one login), with readiness
    probed during it. The reads to compare run in another process
    (`reads`), so that these threads do not slow their measurement."""
    logins, ready, lock = {}, [], threading.Lock()
    stop = threading.Event()

    def login():
        status, _, s = request(args.base, "POST", "/api/v1/auth/login", None,
                               {"username": args.username, "password": args.password}, timeout=30.0)
        with lock:
            logins.setdefault(status, []).append(s)

    def probe_ready():
        while not stop.is_set():
            status, _, s = request(args.base, "GET", "/api/v1/health/ready", timeout=10.0)
            ready.append((status, s))
            time.sleep(0.2)

    storm_threads = [threading.Thread(target=login) for _ in range(args.logins)]
    prober = threading.Thread(target=probe_ready)
    prober.start()
    for t in storm_threads:
        t.start()
    for t in storm_threads:
        t.join()
    stop.set()
    prober.join()

    def ms(v):
        return None if v is None else round(v * 1000, 1)

    result = {
        "logins": {str(k): {"count": len(v), "p50_ms": ms(percentile(v, 50)), "max_ms": ms(max(v))} for k, v in logins.items()},
        "ready_max_ms": ms(max((s for _, s in ready), default=None)),
        "ready_statuses": sorted({st for st, _ in ready}),
    }
    json.dump(result, sys.stdout)
    print()


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("writers")
    w.add_argument("--base", required=True)
    w.add_argument("--token", required=True)
    w.add_argument("--writers", type=int, default=20)
    w.add_argument("--seconds", type=float, default=30)
    w.add_argument("--out", required=True)
    r = sub.add_parser("reads")
    r.add_argument("--base", required=True)
    r.add_argument("--token", required=True)
    r.add_argument("--read-id", required=True)
    r.add_argument("--seconds", type=float, default=5)
    s = sub.add_parser("storm")
    s.add_argument("--base", required=True)
    s.add_argument("--username", required=True)
    s.add_argument("--password", required=True)
    s.add_argument("--logins", type=int, default=200)
    args = parser.parse_args()
    {"writers": writers, "reads": reads, "storm": storm}[args.command](args)


if __name__ == "__main__":
    main()
