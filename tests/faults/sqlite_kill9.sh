#!/usr/bin/env bash
# SQLite: the service is killed with SIGKILL under 20 writers, then started
# again on the same file. Checks: every acknowledged write is there, no
# duplicates, every row has its create event, and PRAGMA integrity_check
# answers ok. The WAL file's size is sampled each second under the load
# (the service truncates it every 10 s). About 40 seconds.
source "$(dirname "$0")/lib.sh"

WORK="$(mktemp -d /tmp/fault-sqlite.XXXXXX)"
cleanup() {
    stop_service
    [ -n "${LOAD_PID:-}" ] && kill "$LOAD_PID" 2>/dev/null
    # KEEP_LOG=FILE keeps the service's log.
    [ -n "${KEEP_LOG:-}" ] && cp "$WORK/service.log" "$KEEP_LOG"
    rm -rf "$WORK"
}
trap cleanup EXIT
DB="$WORK/registry.db"

build
create_admin "$DB"
start_service "$DB"
TOKEN="$(login_token)"

KILL_AFTER="${KILL_AFTER:-25}"
log "20 writers; SIGKILL after $KILL_AFTER s"
python3 "$FAULTS_DIR/load.py" writers --base "$BASE" --token "$TOKEN" --writers 20 \
    --seconds $((KILL_AFTER + 3)) --out "$WORK/acked.json" >"$WORK/load.json" &
LOAD_PID=$!
wal_max=0
for _ in $(seq 1 "$KILL_AFTER"); do
    sleep 1
    size="$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)"
    [ "$size" -gt "$wal_max" ] && wal_max=$size
done
log "WAL file at most $((wal_max / 1024 / 1024)) MiB under the load"
kill -9 "$SERVICE_PID"
wait "$SERVICE_PID" 2>/dev/null || true
wal_before="$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)"
log "killed; WAL file $wal_before bytes"
wait "$LOAD_PID"; LOAD_PID=
log "load: $(cat "$WORK/load.json")"

log "start again on the same file"
start_service "$DB"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/health/ready")" = 200 ] || fail "not ready after the restart"
stop_service   # the checks read the file alone

python3 - "$DB" "$WORK/acked.json" <<'PY' || fail "the database after the kill"
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
acked = [a["id"] for a in json.load(open(sys.argv[2]))]
present = {r[0] for r in db.execute("SELECT id FROM projects WHERE name LIKE 'fault-%'")}
missing = [i for i in acked if i not in present]
dups = db.execute("SELECT count(*) FROM (SELECT name FROM projects WHERE name LIKE 'fault-%' GROUP BY name HAVING count(*) > 1)").fetchone()[0]
orphans = db.execute("SELECT count(*) FROM projects p WHERE NOT EXISTS (SELECT 1 FROM audit_events e "
                     "WHERE e.entity_type = 'project' AND e.entity_id = p.id AND e.action = 'create')").fetchone()[0]
integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
print(f"  acknowledged {len(acked)}, rows {len(present)}, missing {len(missing)}, duplicate names {dups}, "
      f"without create event {orphans}, integrity_check {integrity}", file=sys.stderr)
sys.exit(0 if acked and not missing and dups == 0 and orphans == 0 and integrity == "ok" else 1)
PY
log "OK: SIGKILL under 20 writers lost no acknowledged write; integrity_check ok"
