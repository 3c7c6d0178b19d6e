#!/usr/bin/env bash
# PostgreSQL restarted, then stopped for 10 s, under 20 writers.
#
# Runs against a PRIVATE PostgreSQL cluster that this script creates with
# initdb on a free port and removes afterwards; the machine's shared server
# (5432) is never touched. Checks: every acknowledged write is there, no
# duplicates, no project without its create audit event, liveness always
# answered (within 3 s; the slowest is printed), and the service recovers
# with no restart. About 1 minute.
source "$(dirname "$0")/lib.sh"

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
[ -x "$PG_BIN/initdb" ] || fail "no PostgreSQL server binaries (initdb) under /usr/lib/postgresql"
SECONDS_OF_LOAD="${SECONDS_OF_LOAD:-32}"

WORK="$(mktemp -d /tmp/fault-pg.XXXXXX)"
chmod 755 "$WORK"
PG_PORT="$(free_port)"
# initdb and postgres refuse to run as root: run them as postgres then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_ctl() { as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w "$@" >/dev/null; }
cleanup() {
    stop_service
    [ -d "$WORK/pg" ] && pg_ctl stop -m immediate 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

build
log "private cluster on port $PG_PORT in $WORK/pg"
mkdir -p "$WORK/pg"
# The server writes its log beside its data.
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK" "$WORK/pg"; fi
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
pg_ctl start -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg"
URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
psql_q() { psql "$URL" -v ON_ERROR_STOP=1 -Atq "$@"; }

create_admin "$URL"
start_service "$URL"
TOKEN="$(login_token)"

log "20 writers for ${SECONDS_OF_LOAD} s; restart at 5 s, stop at 12 s for 10 s"
python3 "$FAULTS_DIR/load.py" writers --base "$BASE" --token "$TOKEN" --writers 20 \
    --seconds "$SECONDS_OF_LOAD" --out "$WORK/acked.json" >"$WORK/load.json" &
LOAD_PID=$!
sleep 5
log "PostgreSQL: restart (fast)"
pg_ctl restart -m fast -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg"
sleep 5
log "PostgreSQL: stop (fast) for 10 s"
pg_ctl stop -m fast
sleep 1
ready_down="$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' "$BASE/api/v1/health/ready" || true)"
live_down="$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' "$BASE/api/v1/health/live" || true)"
write_down="$(curl -s -o /dev/null -m 5 -w '%{http_code} %{time_total}' "$BASE/api/v1/projects" -H "Authorization: Bearer $TOKEN" || true)"
log "with the database down: ready $ready_down s, live $live_down s, a read $write_down s"
sleep 9
log "PostgreSQL: start"
pg_ctl start -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK/pg"
started_at=$(date +%s.%N)
wait_for "$BASE/api/v1/health/ready" 200 30 || fail "readiness did not come back"
log "ready again $(python3 -c "print(round($(date +%s.%N) - $started_at, 2))") s after the start"
wait "$LOAD_PID"
log "load: $(cat "$WORK/load.json")"

kill -0 "$SERVICE_PID" || fail "the service died"
[ "${ready_down%% *}" = 503 ] || fail "readiness with the database down: $ready_down (want 503)"
[ "${live_down%% *}" = 200 ] || fail "liveness with the database down: $live_down (want 200)"
[ "${write_down%% *}" = 503 ] || fail "a request with the database down: $write_down (want 503)"
python3 - "$WORK/load.json" <<'PY' || fail "liveness did not always answer"
import json, sys
live = json.load(open(sys.argv[1]))["live"]
print(f"liveness: {live['count']} probes, {live['failed']} failed, slowest {live['slowest']*1000:.0f} ms", file=sys.stderr)
sys.exit(1 if live["failed"] else 0)
PY

python3 - "$WORK/acked.json" >"$WORK/check.sql" <<'PY'
import json, sys
ids = [a["id"] for a in json.load(open(sys.argv[1]))]
print("CREATE TEMP TABLE acked (id text PRIMARY KEY);")
for i in range(0, len(ids), 500):
    print("INSERT INTO acked VALUES " + ",".join(f"('{x}')" for x in ids[i:i + 500]) + ";")
print("SELECT 'acknowledged', count(*) FROM acked;")
print("SELECT 'missing', count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = a.id);")
print("SELECT 'duplicate names', count(*) FROM (SELECT name FROM projects WHERE name LIKE 'fault-%' GROUP BY name HAVING count(*) > 1) d;")
print("SELECT 'without create event', count(*) FROM projects p WHERE NOT EXISTS "
      "(SELECT 1 FROM audit_events e WHERE e.entity_type = 'project' AND e.entity_id = p.id AND e.action = 'create');")
print("SELECT 'rows', count(*) FROM projects WHERE name LIKE 'fault-%';")
PY
result="$(psql_q -F ' ' -f "$WORK/check.sql")"
echo "$result" | sed 's/^/  /' >&2
get() { echo "$result" | awk -v k="$1" '{v=$NF; $NF=""; sub(/ $/, ""); if ($0 == k) print v}'; }
[ "$(get missing)" = 0 ] || fail "acknowledged writes are missing"
[ "$(get 'duplicate names')" = 0 ] || fail "duplicate rows"
[ "$(get 'without create event')" = 0 ] || fail "rows without their audit event"
[ "$(get acknowledged)" -gt 0 ] || fail "no write was acknowledged"

# Recovery needed no restart: the same process writes again.
status="$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/projects" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"park_code": "yueyang", "name": "after the outage", "industry": "other",
    "attraction_mode": "targeted", "planned_investment_usd": 1}')"
[ "$status" = 201 ] || fail "a write after recovery answered $status"
log "OK: PostgreSQL restart and 10 s stop under 20 writers"
