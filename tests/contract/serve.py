"""Small helpers for run.sh: a free port, waiting for readiness, a login."""
import json
import socket
import sys
import time
import urllib.request


def free_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait_ready(base: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/health/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"the service at {base} did not become ready")


def login(base: str, username: str, password: str) -> None:
    body = json.dumps({"username": username, "password": password}).encode()
    req = urllib.request.Request(f"{base}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        print(json.load(r)["access_token"])


if __name__ == "__main__":
    {"free-port": free_port, "wait-ready": wait_ready, "login": login}[sys.argv[1]](*sys.argv[2:])
