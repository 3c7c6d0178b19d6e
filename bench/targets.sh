#!/usr/bin/env bash
# The targets scenario (issue 12): GET /targets at 1M projects, 200k investors
# and 2M funds on PostgreSQL, release build, 16 connections; see README.md.
#
#   bash bench/targets.sh              load (unless the database is there), rebuild the summary, measure
#   PROJECTS=100000 bash bench/targets.sh   a smaller run (RELOAD=1 reloads; NO_BUILD=1 uses the release binary as it is)
#
# Prints wrk's figures for each request shape and the EXPLAIN (ANALYZE,
# BUFFERS) of the statements `GET /targets` sends; they go to RESULTS.md by hand.
set -euo pipefail
db_default=bench_targets
# shellcheck source=bench/scale.sh
source "$(dirname "$0")/scale.sh"

if ! psql -X -h 127.0.0.1 -U postgres -d "$db" -c "SELECT 1 FROM projects LIMIT 1" >/dev/null 2>&1 || [ -n "${RELOAD:-}" ]; then
    psql -q -X -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    "$bin" migrate --database-url "$url"
    echo "== loading $PROJECTS projects, $INVESTORS investors"
    start=$(date +%s)
    psql_db -v projects="$PROJECTS" -v investors="$INVESTORS" -f "$here/targets.sql"
    psql_db -c "VACUUM ANALYZE"
    echo "   loaded in $(( $(date +%s) - start )) s"
    psql_db -At -c "SELECT 'projects ' || count(*) FROM projects" -c "SELECT 'investors ' || count(*) FROM investors" \
        -c "SELECT 'funds ' || count(*) FROM funds" -c "SELECT 'figures ' || count(*) FROM investor_figures"
    echo "== rebuilding the summary (what the first start after the migration does)"
    /usr/bin/time -f "   rebuilt in %e s, peak RSS %M KiB" "$bin" targets rebuild --database-url "$url"
    psql_db -c "VACUUM ANALYZE"
fi
psql_db -At -c "SELECT 'summary: ' || (SELECT count(*) FROM target_units) || ' units, ' || count(*) || ' totals rows' FROM target_totals"

echo 'bench admin password' | "$bin" user create --username bench.admin --role provincial_admin --password-stdin --database-url "$url" >/dev/null 2>&1 || true
echo 'bench staff password' | "$bin" user create --username bench.staff --role park_staff --park yueyang --password-stdin --database-url "$url" >/dev/null 2>&1 || true
DATABASE_URL="$url" BIND=127.0.0.1:18089 "$bin" serve >"$work/targets-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
base=http://127.0.0.1:18089
for _ in $(seq 1 300); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
ADMIN=$(python3 "$here/bench.py" login "$base" bench.admin 'bench admin password')
STAFF=$(python3 "$here/bench.py" login "$base" bench.staff 'bench staff password')

run() {
    local name=$1 token=$2 path=$3 script=${4:-get_path.lua}
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base${path}$([ "$script" = get_path.lua ] || echo 2024-06-30)")
    TOKEN=$token PATH_Q=$path wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/wrk/$script" "$base" >"$work/wrk-targets.txt"
    python3 - "$name" "$status" "$work/wrk-targets.txt" <<'PY'
import re, sys
name, status, path = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
def pct(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"| {name} | {status} | {rps:.0f} | {pct(50):.1f} | {pct(90):.1f} | {pct(99):.1f} | {non2xx.group(1) if non2xx else 0} |")
PY
}

echo "== GET /targets, $CONNECTIONS connections, ${DURATION} s each; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| request | status | req/s | p50 ms | p90 ms | p99 ms | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|---:|"
run "province, zone, today" "$ADMIN" "/api/v1/targets"
run "province, zone, as_of=2025-06-30" "$ADMIN" "/api/v1/targets?as_of=2025-06-30"
run "province, zone, a random day each request" "$ADMIN" "/api/v1/targets?as_of=" targets_any_day.lua
run "province, park=xiangtan, today" "$ADMIN" "/api/v1/targets?park=xiangtan"
run "park staff (yueyang), today" "$STAFF" "/api/v1/targets"
run "park staff (yueyang), as_of=2023-12-31" "$STAFF" "/api/v1/targets?as_of=2023-12-31"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); service CPU seconds: $(awk '{print ($14 + $15) / 100}' /proc/$server/stat)"

echo "== writes that move the targets, one at a time (each rewrites its summary rows in its transaction)"
python3 - "$base" "$ADMIN" <<'PY'
import json, statistics, sys, time, urllib.error, urllib.request
base, token = sys.argv[1], sys.argv[2]
def call(method, path, body):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "If-Match": "*"}
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers, method=method)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req) as r:
            out = json.load(r)
    except urllib.error.HTTPError:
        return None, 0.0
    return out, (time.perf_counter() - start) * 1000
times = {"POST fund": [], "POST verification": [], "PATCH investor": []}
for n in range(1, 41):
    project = f"00000000-0000-7000-8000-{n * 5 + 1:012d}"  # signed (p % 5 == 1)
    fund, ms = call("POST", f"/api/v1/projects/{project}/funds",
                    {"received_on": "2026-11-01", "amount_usd": 1000, "evidence": "bank_receipt", "evidence_ref": "bench"})
    if fund:
        times["POST fund"].append(ms)
        _, ms = call("POST", f"/api/v1/projects/{project}/funds/{fund['id']}/verification", {"decision": "verified"})
        times["POST verification"].append(ms)
    _, ms = call("PATCH", f"/api/v1/investors/00000000-0000-7000-9000-{n * 3:012d}", {"notes": f"bench {n}"})
    times["PATCH investor"].append(ms)
for name, values in times.items():
    values = [v for v in values if v > 0]
    if values:
        print(f"{name}: {len(values)} writes, median {statistics.median(values):.1f} ms, max {max(values):.1f} ms")
PY
echo "== the summary against the facts after those writes (targets check)"
/usr/bin/time -f "   checked in %e s" "$bin" targets check --as-of 2023-12-31 --as-of 2025-06-30 --database-url "$url" | tail -4

echo "== EXPLAIN (ANALYZE, BUFFERS) of the statements of GET /targets?as_of=2025-06-30"
psql_db <<'SQL'
EXPLAIN (ANALYZE, BUFFERS)
SELECT metric, scope, CAST(SUM(amount) AS BIGINT) AS amount FROM target_totals
 WHERE ((grain = 'y' AND on_date < '2025-01-01')
     OR (grain = 'm' AND on_date >= '2025-01-01' AND on_date < '2025-06-01')
     OR (grain = 'd' AND on_date >= '2025-06-01' AND on_date <= '2025-06-30'))
 GROUP BY metric, scope;
EXPLAIN (ANALYZE, BUFFERS)
SELECT metric, scope, CAST(SUM(amount) AS BIGINT) AS amount FROM target_totals
 WHERE ((grain = 'y' AND on_date < '2024-01-01')
     OR (grain = 'm' AND on_date >= '2024-01-01' AND on_date < '2024-12-01')
     OR (grain = 'd' AND on_date >= '2024-12-01' AND on_date <= '2024-12-31')) AND metric = 'settled'
 GROUP BY metric, scope;
SQL
