#!/usr/bin/env python3
"""Reads docker-compose.yml where Docker Compose is not installed: the api
must take JWT_SECRET from the environment (required, no default) and keep
its data folder on a volume. `docker compose config` does the full check
where it exists (.ci/run)."""
import re
import sys
from pathlib import Path

text = Path(__file__).resolve().parent.parent.joinpath("docker-compose.yml").read_text()
try:
    import yaml  # not always installed; the regular expressions below suffice
    doc = yaml.safe_load(text)
    api = doc["services"]["api"]
    env = api["environment"]
    secret, data_dir, volumes = env.get("JWT_SECRET", ""), env.get("DATA_DIR", ""), api.get("volumes", [])
    declared = set((doc.get("volumes") or {}).keys())
except ImportError:
    secret = (re.search(r"^\s+JWT_SECRET:\s*(.+)$", text, re.M) or [None, ""])[1]
    data_dir = (re.search(r"^\s+DATA_DIR:\s*(\S+)", text, re.M) or [None, ""])[1]
    volumes = re.findall(r"^\s+-\s*(\w+:/app/data)\s*$", text, re.M)
    declared = {"apidata"} if re.search(r"^volumes:\n(?:\s+\w+:\n)*\s+apidata:", text, re.M) else set()

problems = []
if not re.fullmatch(r"\$\{JWT_SECRET:\?.+\}", str(secret).strip()):
    problems.append("api.environment.JWT_SECRET must be ${JWT_SECRET:?...} (required, from the environment)")
if data_dir != "/app/data":
    problems.append("api.environment.DATA_DIR must be /app/data")
mounts = [v for v in volumes if str(v).endswith(":/app/data")]
if not mounts or str(mounts[0]).split(":")[0] not in declared:
    problems.append("api needs a named volume mounted at /app/data")
for p in problems:
    print("docker-compose.yml:", p, file=sys.stderr)
print("docker-compose.yml: read, ok" if not problems else "docker-compose.yml: problems", file=sys.stderr)
sys.exit(1 if problems else 0)
