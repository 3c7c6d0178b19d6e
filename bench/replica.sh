#!/usr/bin/env bash
# The read replica (issue 16, item 7), shown on one machine: a PostgreSQL
# primary and a streaming replica of it on other ports, the service on both,
# then: a write and its writer's read (the primary serves it), the same read
# a moment later (the replica), another caller's reads while the replica's
# replay is paused (bounded staleness, then the primary once the lag passes
# REPLICA_MAX_LAG_MS), and the replica stopped (every read still answered,
# by the primary) and started again. It prints what each read found, which
# side served it (the db_reads_total metric) and what /health/ready said.
#
#   bash bench/replica.sh
#
# The cluster at 127.0.0.1:5432 is replicated when it allows it (wal_level
# replica or logical, a free WAL sender, a `replication` line in pg_hba.conf
# for 127.0.0.1): a replica of it on 5433. Otherwise (changing pg_hba.conf
# means reconfiguring a shared server) a throwaway primary on 5434 with its
# replica on 5435, in a temporary folder removed at the end. Needs the
# PostgreSQL 15 server binaries; uses the debug build (cargo build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/invest-replica.XXXXXX)
chmod 755 "$work"
bind=127.0.0.1:18189; metrics_bind=127.0.0.1:18190; base=http://$bind
export MAX_LAG_MS=${REPLICA_MAX_LAG_MS:-2000}

# PostgreSQL refuses to run as root: the servers run as `postgres` then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"

server_pid=""; started=()
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    for dir in "${started[@]}"; do as_pg "$pgbin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT

echo "== The cluster at 127.0.0.1:5432"
q5432() { psql -h 127.0.0.1 -p 5432 -U postgres -tAc "$1"; }
wal_level=$(q5432 "SHOW wal_level"); senders=$(q5432 "SHOW max_wal_senders")
hba=$(q5432 "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database)")
echo "wal_level=$wal_level max_wal_senders=$senders pg_hba lines for replication: $hba"
if [ "$wal_level" != minimal ] && [ "$senders" -gt 0 ] && [ "$hba" -gt 0 ]; then
    primary_port=5432; replica_port=5433
    echo "it can stream: a replica of it on $replica_port"
else
    primary_port=5434; replica_port=5435
    echo "it cannot stream without a change to its pg_hba.conf (a reload of a shared server): a throwaway primary on $primary_port, its replica on $replica_port"
    as_pg "$pgbin/initdb" -D "$work/primary" -U postgres -A trust >/dev/null
    cat >>"$work/primary/postgresql.conf" <<EOF
port = $primary_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
wal_level = replica
max_wal_senders = 4
shared_buffers = 64MB
EOF
    as_pg "$pgbin/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null
    started+=("$work/primary")
fi

echo "== A streaming replica: pg_basebackup -R, then started on $replica_port"
as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$work/replica" -R -X stream -c fast
cat >>"$work/replica/postgresql.conf" <<EOF
port = $replica_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
hot_standby = on
EOF
as_pg "$pgbin/pg_ctl" -D "$work/replica" -l "$work/replica.log" -w start >/dev/null
started+=("$work/replica")
psql -h 127.0.0.1 -p "$replica_port" -U postgres -tAc "SELECT 'in recovery: ' || pg_is_in_recovery()"

db=replica_demo
psql -h 127.0.0.1 -p "$primary_port" -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
(cd "$root" && cargo build --locked --quiet)
bin=${BIN:-$root/target/debug/invest-registry}
export DATABASE_URL="postgres://postgres@127.0.0.1:$primary_port/$db"
export DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:$replica_port/$db"
export REPLICA_MAX_LAG_MS=$MAX_LAG_MS DATA_DIR="$work" JWT_SECRET=replica-demo-secret-replica-demo-secret-0 RUST_LOG=warn
echo 'demo admin password' | "$bin" user create --username demo.admin --role provincial_admin --password-stdin >/dev/null
echo 'demo viewer password' | "$bin" user create --username demo.viewer --role provincial_viewer --password-stdin >/dev/null
BIND=$bind METRICS_BIND=$metrics_bind "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
login() {
    curl -fs -H 'content-type: application/json' "$base/api/v1/auth/login" -d "{\"username\":\"$1\",\"password\":\"$2\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
ADMIN=$(login demo.admin 'demo admin password')
VIEWER=$(login demo.viewer 'demo viewer password')

# Reads routed so far: "replica/fresh=N primary/own_write=N ..." from /metrics.
sides() {
    curl -fs "http://$metrics_bind/metrics" | awk -F'[{}" ]+' '/^db_reads_total/ { printf "%s/%s=%s ", $3, $5, $NF }'
}
health() { curl -s "$base/api/v1/health/ready" | python3 -c 'import json,sys; print("health:", json.dumps(json.load(sys.stdin).get("replica")))'; }
# read WHO LABEL: the projects named like the demo's, with the status and the side that served it.
read_as() {
    local token=$1 label=$2 before after
    before=$(sides)
    local out; out=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $token" "$base/api/v1/projects?q=demo&count=true&limit=1")
    after=$(sides)
    python3 - "$label" "$out" "$before" "$after" <<'EOF'
import json, sys
label, out, before, after = sys.argv[1:]
body, status = out.rsplit(" ", 1)
total = json.loads(body).get("total") if status == "200" else None
count = lambda s: dict(kv.split("=") for kv in s.split())
b, a = count(before), count(after)
served = [k for k in a if int(a[k]) > int(b.get(k, 0))]
print(f"{label:<58} HTTP {status}  projects found: {total}  served by: {', '.join(served) or '?'}")
EOF
    echo "${out##* }" >>"$work/statuses"
}
# back_on_replica: after a write, the writer's reads until one is served by the replica; prints how long that took.
back_on_replica() {
    local t0 now before after
    t0=$(date +%s%N)
    for _ in $(seq 1 200); do
        before=$(sides)
        curl -fs -o /dev/null -H "Authorization: Bearer $ADMIN" "$base/api/v1/projects?q=demo&limit=1"
        after=$(sides)
        if [ "$(echo "$after" | grep -o 'replica/fresh=[0-9]*')" != "$(echo "$before" | grep -o 'replica/fresh=[0-9]*')" ]; then
            now=$(date +%s%N); echo "the writer's reads are back on the replica $(( (now - t0) / 1000000 )) ms after the write was answered"; return
        fi
        sleep 0.01
    done
    echo "the writer's reads did not return to the replica"
}
write_project() {
    curl -fs -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'content-type: application/json' "$base/api/v1/projects" \
        -d "{\"park_code\":\"yueyang\",\"name\":\"demo project $1\",\"industry\":\"electronic_information\",\"attraction_mode\":\"industrial_chain\",\"planned_investment_usd\":1000000}"
}

for _ in $(seq 1 50); do health | grep -q '"up"' && break; sleep 0.1; done
echo "== 1. Read your writes"
health
write_project 1
read_as "$ADMIN" "the writer, just after writing"
read_as "$VIEWER" "another caller, just after"
sleep 0.5
read_as "$ADMIN" "the writer, half a second later"
for i in 1 2 3 4 5; do write_project "1.$i"; back_on_replica; done

echo "== 2. Bounded staleness: the replica's replay paused"
psql -h 127.0.0.1 -p "$replica_port" -U postgres -qtAc "SELECT pg_wal_replay_pause()" >/dev/null
write_project 2
sleep 0.3
read_as "$VIEWER" "another caller, 0.3 s later (stale, within the bound)"
health
sleep "$(python3 -c "print($MAX_LAG_MS / 1000 + 0.5)")"
read_as "$VIEWER" "the same, past REPLICA_MAX_LAG_MS=$MAX_LAG_MS"
health
psql -h 127.0.0.1 -p "$replica_port" -U postgres -qtAc "SELECT pg_wal_replay_resume()" >/dev/null
sleep 0.5
read_as "$VIEWER" "the same, replay resumed"

echo "== 3. The replica stopped"
as_pg "$pgbin/pg_ctl" -D "$work/replica" -m fast stop >/dev/null
for i in 1 2 3; do read_as "$VIEWER" "another caller, replica stopped ($i)"; done
sleep 0.3
health
write_project 3
read_as "$ADMIN" "the writer, replica stopped"
as_pg "$pgbin/pg_ctl" -D "$work/replica" -l "$work/replica.log" -w start >/dev/null
for _ in $(seq 1 50); do health | grep -q '"up"' && break; sleep 0.2; done
health
read_as "$VIEWER" "another caller, replica started again"

echo "== Totals"
sides; echo
echo "reads answered: $(wc -l <"$work/statuses"), not 200: $(grep -cv '^200$' "$work/statuses" || true)"
sed 's/\x1b\[[0-9;]*m//g' "$work/server.log" | grep -iE "replica|database" | sed 's/^/log: /' | head -20
