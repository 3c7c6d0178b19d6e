#!/usr/bin/env bash
# The login storm of issue 11: 200 logins at once with the right password,
# while two clients read one record. Prints the read p99 alone and during
# the storm, the logins' answers (200, or 503 with Retry-After when the
# hashing queue is full), readiness during the storm, and the service's peak
# memory and thread count. Checks: reads all succeed, every login is 200,
# 429 or 503, peak memory under 500 MiB; with FAULT_STRICT=1 also that the
# read p99 stays within 2x of the idle figure (+10 ms for timer noise).
# DATABASE=postgres uses a fresh database on the shared server (5432;
# created and dropped, the server itself untouched). About 30 seconds.
source "$(dirname "$0")/lib.sh"

LOGINS="${LOGINS:-200}"
WORK="$(mktemp -d /tmp/fault-storm.XXXXXX)"
PG_ADMIN="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB=""
cleanup() {
    stop_service
    [ -n "$PG_DB" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

build
if [ "${DATABASE:-sqlite}" = postgres ]; then
    PG_DB="fault_storm_$$"
    psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
    URL="${PG_ADMIN%/*}/$PG_DB"
else
    URL="$WORK/registry.db"
fi
create_admin "$URL"
start_service "$URL"
TOKEN="$(login_token)"
ID="$(curl -s "$BASE/api/v1/projects" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"park_code": "yueyang", "name": "storm read target", "industry": "other", "attraction_mode": "targeted",
         "planned_investment_usd": 1}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

# Peak memory (VmHWM is the high-water mark) and the most threads seen.
threads_max=0
watch_threads() {
    while kill -0 "$SERVICE_PID" 2>/dev/null; do
        t="$(awk '/^Threads:/ {print $2}' "/proc/$SERVICE_PID/status" 2>/dev/null || echo 0)"
        echo "$t"
        sleep 0.1
    done
}
watch_threads >"$WORK/threads" &
WATCH_PID=$!
rss_before="$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVICE_PID/status")"

log "reads alone for 5 s, then again beside $LOGINS logins at once (readers and logins in separate processes)"
python3 "$FAULTS_DIR/load.py" reads --base "$BASE" --token "$TOKEN" --read-id "$ID" --seconds 5 >"$WORK/idle.json"
# The storm lasts one to two seconds; the reads beside it cover about that.
python3 "$FAULTS_DIR/load.py" reads --base "$BASE" --token "$TOKEN" --read-id "$ID" --seconds 2 >"$WORK/busy.json" &
READS_PID=$!
sleep 0.2
python3 "$FAULTS_DIR/load.py" storm --base "$BASE" --username fault.admin --password "$ADMIN_PASSWORD" \
    --logins "$LOGINS" >"$WORK/storm.json"
wait "$READS_PID"
rss_peak="$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVICE_PID/status")"
kill "$WATCH_PID" 2>/dev/null || true
threads_max="$(sort -n "$WORK/threads" | tail -n 1)"

python3 - "$WORK" "$rss_before" "$rss_peak" "$threads_max" "${FAULT_STRICT:-0}" <<'PY' || fail "the storm"
import json, sys
r = json.load(open(sys.argv[1] + "/storm.json"))
idle, busy = (json.load(open(f"{sys.argv[1]}/{n}.json")) for n in ("idle", "busy"))
before, peak, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
strict = sys.argv[5] == "1"
print(f"  read p99 idle {idle['p99_ms']} ms ({idle['reads']} reads); with the storm {busy['p99_ms']} ms "
      f"({busy['reads']} reads in the 2 s around it, {busy['failures']} failed)", file=sys.stderr)
for status, s in sorted(r["logins"].items()):
    print(f"  logins {status}: {s['count']} (median {s['p50_ms']} ms, slowest {s['max_ms']} ms)", file=sys.stderr)
print(f"  readiness during the storm: slowest {r['ready_max_ms']} ms, statuses {r['ready_statuses']}", file=sys.stderr)
print(f"  peak RSS {peak // 1024} MiB (before the storm {before // 1024} MiB), threads at most {threads}", file=sys.stderr)
ok = True
if busy["failures"] or idle["failures"]:
    print("  reads failed", file=sys.stderr); ok = False
if busy["p99_ms"] > 2 * idle["p99_ms"] + 10:
    # The clients share the service's cores: a hard check only when asked for.
    print("  read p99 more than 2x the idle figure + 10 ms", file=sys.stderr)
    if strict:
        ok = False
if set(r["logins"]) - {"200", "429", "503"}:
    print("  logins answered something other than 200, 429 or 503", file=sys.stderr); ok = False
if peak > 500 * 1024:
    print("  peak memory over 500 MiB", file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY
log "OK: login storm"
