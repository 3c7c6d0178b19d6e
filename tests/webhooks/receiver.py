#!/usr/bin/env python3
"""A webhook receiver for the tests and for trying webhooks by hand.

Listens on 127.0.0.1 (port 0 = a free one, printed as the first line of
standard output), checks each delivery's X-Signature with the secret read
from --secret-file (at each request, so the secret can be written after the
hook is created), and appends one JSON line per request to --log:
{"verified": bool, "status": answered, "signature": header, "body": payload}.
The first --fail-first requests are answered 500, the rest 204 when the
signature holds (401 when it does not). Standard library only.

    python3 tests/webhooks/receiver.py --port 8090 --secret-file secret.txt --log got.jsonl
"""

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret: bytes, header: str, body: bytes) -> bool:
    """X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or abs(time.time() - int(t)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    lock = threading.Lock()
    seen = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the name http.server calls)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with open(args.secret_file, "rb") as f:
                secret = f.read().strip()
            signature = self.headers.get("X-Signature", "")
            verified = verify(secret, signature, body)
            with lock:
                seen["requests"] += 1
                if seen["requests"] <= args.fail_first:
                    status = 500
                else:
                    status = 204 if verified else 401
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                with open(args.log, "a", encoding="utf-8") as log:
                    log.write(json.dumps({"verified": verified, "status": status,
                                          "signature": signature, "body": payload}) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
