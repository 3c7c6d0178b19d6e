#!/usr/bin/env bash
# The monitoring scenario (issue 13): GET /monitoring at 1M projects on
# PostgreSQL, release build, 16 connections; see README.md ("Monitoring at scale").
#
#   bash bench/monitoring.sh              load (unless the database is there), compute the light days, measure
#   PROJECTS=100000 bash bench/monitoring.sh   a smaller run (RELOAD=1 reloads; NO_BUILD=1 uses the release binary as it is)
#   KEEP_DB=1 bash bench/monitoring.sh    keep the database afterwards (it is dropped otherwise)
#   NO_CHECK=1 … skips the final consistency check (minutes at 1M); BIN=… measures another binary
#
# Prints wrk's figures for each request shape, the time to recompute every
# project's light days (a rule change) and the consistency check; they go to
# RESULTS.md by hand.
set -euo pipefail
db_default=bench_monitoring
# shellcheck source=bench/scale.sh
source "$(dirname "$0")/scale.sh"

server=
cleanup() {
    [ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; }
    [ -n "${KEEP_DB:-}" ] || psql -q -X -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
trap cleanup EXIT

if ! psql -X -h 127.0.0.1 -U postgres -d "$db" -c "SELECT 1 FROM projects LIMIT 1" >/dev/null 2>&1 || [ -n "${RELOAD:-}" ]; then
    psql -q -X -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    "$bin" migrate --database-url "$url"
    echo "== loading $PROJECTS projects, $INVESTORS investors"
    start=$(date +%s)
    psql_db -v projects="$PROJECTS" -v investors="$INVESTORS" -f "$here/monitoring.sql"
    echo "   loaded in $(( $(date +%s) - start )) s"
    echo "== computing every project's light days (what a change of the rules does)"
    /usr/bin/time -f "   computed in %e s, peak RSS %M KiB" "$bin" monitoring rebuild --database-url "$url"
    psql_db -c "VACUUM ANALYZE"
fi
psql_db -At -c "SELECT 'projects ' || count(*) || ', watched ' || count(*) FILTER (WHERE stage NOT IN ('dropped', 'operating')) FROM projects"

echo 'bench viewer password' | "$bin" user create --username bench.viewer --role provincial_viewer --password-stdin --database-url "$url" >/dev/null 2>&1 || true
echo 'bench staff password' | "$bin" user create --username bench.staff --role park_staff --park yueyang --password-stdin --database-url "$url" >/dev/null 2>&1 || true
DATABASE_URL="$url" BIND=127.0.0.1:18093 DB_POOL_WAIT_MS=${DB_POOL_WAIT_MS:-5000} "$bin" serve >"$work/monitoring-server.log" 2>&1 &
server=$!
base=http://127.0.0.1:18093
for _ in $(seq 1 300); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
VIEWER=$(python3 "$here/bench.py" login "$base" bench.viewer 'bench viewer password')
STAFF=$(python3 "$here/bench.py" login "$base" bench.staff 'bench staff password')

run() {
    local name=$1 token=$2 path=$3
    local status
    status=$(curl -s -o "$work/monitoring-body.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$base$path")
    counts=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sum(c['green']+c['amber']+c['red'] for c in r['counts']), len(r['items']))" "$work/monitoring-body.json" 2>/dev/null || echo "? ?")
    TOKEN=$token PATH_Q=$path wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/wrk/get_path.lua" "$base" >"$work/wrk-monitoring.txt"
    python3 - "$name" "$status" "$counts" "$work/wrk-monitoring.txt" <<'PY'
import re, sys
name, status, counts, path = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
text = open(path).read()
def pct(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
watched, items = counts.split()
print(f"| {name} | {status} | {watched} | {items} | {rps:.0f} | {pct(50):.1f} | {pct(90):.1f} | {pct(99):.1f} | {non2xx.group(1) if non2xx else 0} |")
PY
}

echo "== GET /monitoring, $CONNECTIONS connections, ${DURATION} s each; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| request | status | watched counted | items | req/s | p50 ms | p90 ms | p99 ms | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for who in viewer staff; do
    token=$VIEWER; [ "$who" = staff ] && token=$STAFF
    label="provincial_viewer"; [ "$who" = staff ] && label="park_staff (yueyang)"
    run "$label, no filter" "$token" "/api/v1/monitoring"
    run "$label, light=red" "$token" "/api/v1/monitoring?light=red"
    run "$label, park=yueyang&light=amber" "$token" "/api/v1/monitoring?park=yueyang&light=amber"
    run "$label, stage=signed" "$token" "/api/v1/monitoring?stage=signed"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); service CPU seconds: $(awk '{print ($14 + $15) / 100}' /proc/$server/stat)"

if [ -z "${NO_CHECK:-}" ]; then
    echo "== the stored light days against the judgement of every project (monitoring check)"
    /usr/bin/time -f "   checked in %e s" "$bin" monitoring check --database-url "$url" | tail -3
fi

echo "== EXPLAIN (ANALYZE, BUFFERS): counting a day (its first request only) and a page of amber in one park"
psql_db <<'SQL'
EXPLAIN (ANALYZE, BUFFERS)
SELECT park_code, watched_stage, CAST(COUNT(*) AS BIGINT) AS watched,
       CAST(SUM(CASE WHEN amber_on <= CURRENT_DATE THEN 1 ELSE 0 END) AS BIGINT) AS amber,
       CAST(SUM(CASE WHEN red_on <= CURRENT_DATE THEN 1 ELSE 0 END) AS BIGINT) AS red
FROM projects WHERE watched_stage IS NOT NULL GROUP BY park_code, watched_stage;
EXPLAIN (ANALYZE, BUFFERS)
SELECT id, park_code, name, stage FROM projects
WHERE watched_stage IS NOT NULL AND park_code = 'yueyang' AND amber_on <= CURRENT_DATE
  AND (red_on IS NULL OR red_on > CURRENT_DATE)
ORDER BY park_code, id LIMIT 51;
SQL
