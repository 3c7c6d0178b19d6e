#!/usr/bin/env bash
# Spreadsheet exchange (issue 14): see README.md, "Exchange".
#
#   bash bench/exchange.sh      import 100,000 projects from XLSX (dry run, then commit) on
#                               PostgreSQL and SQLite; export 1,000,000 projects to CSV and XLSX
#                               from PostgreSQL with the service's peak RSS
#   IMPORT_ROWS=10000 EXPORT_ROWS=200000 bash bench/exchange.sh     smaller
#   EXPORT_ONLY=1 EXPORT_ROWS=100000 bash bench/exchange.sh          the export alone
#   IMPORT_ONLY=1 bash bench/exchange.sh                              the imports alone
#
# The export's instance never hashes a password: its token comes from a login on another
# instance of the same database (same JWT_SECRET), so argon2's 19 MiB buffer is not in the
# export's peak RSS. The table gives the instance's peak at start-up, its RSS when the export
# starts, and the peak during the export alone (VmHWM reset through /proc/PID/clear_refs).
#
# The 1,000,000-project export runs on a copy of the database `bench_targets` when the server
# has it (CREATE DATABASE … TEMPLATE: the export writes its audit event, and the copy is
# dropped at the end), otherwise on one loaded by bench/targets.sql (EXPORT_DB names it). Imports run on a database of
# their own (`bench_import`, or IMPORT_DB), dropped at the end too.
#
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres). Prints one table and appends
# it, with the date, the machine and its load, to bench/RESULTS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work="$root/target/bench"
mkdir -p "$work"
IMPORT_ROWS=${IMPORT_ROWS:-100000}
IMPORT_DB=${IMPORT_DB:-bench_import}   # another name for a run beside someone else's
EXPORT_ROWS=${EXPORT_ROWS:-1000000}

(cd "$root" && cargo build --release --locked --quiet)
bin="$root/target/release/invest-registry"
py() { python3 "$here/bench.py" "$@"; }
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01
table="$work/exchange.md"; : >"$table"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=""; }
trap stop EXIT

# serve DATABASE_URL: migrates, adds the user, serves on 127.0.0.1:18089; sets base.
serve() {
    export DATABASE_URL="$1" DATA_DIR="$work"
    echo 'bench admin password' | "$bin" user create --username bench.admin --role provincial_admin --password-stdin >/dev/null 2>&1 || true
    BIND=127.0.0.1:18089 "$bin" serve >"$work/exchange-server.log" 2>&1 &
    server_pid=$!
    base=http://127.0.0.1:18089
    for _ in $(seq 1 100); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
}

# start DATABASE_URL: serve, and log in there; sets base and ADMIN.
start() {
    serve "$1"
    ADMIN=$(py login "$base" bench.admin 'bench admin password')
}

# start_without_login DATABASE_URL: ADMIN from a login on a short-lived instance of the same
# database, then a fresh instance that serves the export without ever hashing a password.
start_without_login() {
    start "$1"
    stop
    serve "$1"
}

peak_rss() { awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$server_pid/status"; }
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$server_pid/status"; }

# import LABEL DRY_RUN: one POST /imports of the ledger; a row of the table.
import_once() {
    local label=$1 dry=$2
    local seconds
    seconds=$(curl -s -o "$work/import.json" -w '%{time_total}' -H "Authorization: Bearer $ADMIN" \
        -F library=projects -F "file=@$ledger" -F "dry_run=$dry" "$base/api/v1/imports")
    local counts
    counts=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r["errors"], r["errors"][:3]; print("created {created}, updated {updated}, unchanged {unchanged}".format(**r))' "$work/import.json")
    echo "| import $IMPORT_ROWS projects from XLSX, $label, dry_run=$dry | ${seconds} s | $(python3 -c "print(round($IMPORT_ROWS / $seconds))") rows/s | $counts; peak RSS $(peak_rss) |" | tee -a "$table"
}

if [ "${EXPORT_ONLY:-0}" != 1 ]; then
ledger="$work/ledger-$IMPORT_ROWS.xlsx"
[ -f "$ledger" ] || py ledger-xlsx "$IMPORT_ROWS" "$ledger"

echo "== import, PostgreSQL"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $IMPORT_DB WITH (FORCE)" -c "CREATE DATABASE $IMPORT_DB"
start "postgres://postgres@127.0.0.1:5432/$IMPORT_DB"
import_once PostgreSQL true
import_once PostgreSQL false
import_once "PostgreSQL, again (idempotent)" false
stop
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $IMPORT_DB WITH (FORCE)"

echo "== import, SQLite"
rm -f "$work/import.db"*
start "$work/import.db"
import_once SQLite true
import_once SQLite false
import_once "SQLite, again (idempotent)" false
stop
fi

if [ "${IMPORT_ONLY:-0}" != 1 ]; then
echo "== export, PostgreSQL, $EXPORT_ROWS projects"
db=${EXPORT_DB:-bench_export_$EXPORT_ROWS}
has_db() { psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1; }
if ! has_db "$db"; then
    if [ "$EXPORT_ROWS" = 1000000 ] && has_db bench_targets; then
        psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db TEMPLATE bench_targets"
    else
        # The data of bench/targets.sh (generate_series: minutes, not hours).
        psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
        "$bin" migrate --database-url "postgres://postgres@127.0.0.1:5432/$db"
        psql -q -X -h 127.0.0.1 -U postgres -d "$db" -v projects="$EXPORT_ROWS" -v investors=$(( EXPORT_ROWS / 5 )) -f "$here/targets.sql"
        "$bin" targets rebuild --database-url "postgres://postgres@127.0.0.1:5432/$db"
    fi
    psql -q -h 127.0.0.1 -U postgres -d "$db" -c "VACUUM ANALYZE"
fi
for format in csv xlsx; do
    start_without_login "postgres://postgres@127.0.0.1:5432/$db"   # a fresh process: its peak RSS is this export's
    startup=$(peak_rss) before=$(rss)
    echo 5 >"/proc/$server_pid/clear_refs"   # VmHWM := VmRSS: from here the peak is the export's
    line=$(curl -s -o "$work/export.$format" -w '%{time_total} %{size_download}' -H "Authorization: Bearer $ADMIN" \
        "$base/api/v1/projects?format=$format")
    read -r seconds bytes <<<"$line"
    echo "| export $EXPORT_ROWS projects to ${format^^} | ${seconds} s | $(python3 -c "print(round($EXPORT_ROWS / $seconds))") rows/s | $(( bytes / 1024 / 1024 )) MB; peak RSS during the export $(peak_rss) (RSS when it began $before, start-up peak $startup; login on another instance) |" | tee -a "$table"
    stop
done
[ "${KEEP_EXPORT_DB:-0}" = 1 ] || psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
fi

{
    echo ""
    echo "# $(date -u +%Y-%m-%d) — spreadsheet exchange (bench/exchange.sh) on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, release build"
    echo ""
    echo "Load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)."
    echo ""
    echo "| what | time | throughput | notes |"
    echo "|---|---|---|---|"
    cat "$table"
} >>"$here/RESULTS.md"
