#!/usr/bin/env bash
# Benchmarks of the service against the database's own ceiling: see README.md.
#
#   bash bench/run.sh            full run: 10k, 100k and 1M projects on PostgreSQL, 100k on SQLite
#   bash bench/run.sh --quick    10k projects, 5 s a scenario: a few minutes
#   bash bench/run.sh --sqlite-only   only the SQLite part (reads and 64 concurrent creates)
#   bash bench/run.sh --peer directus   adds Directus (bench/directus.sh) on scenarios 1 and 2 at 100k
#                                       (10k with --quick); installs it under bench/directus/ first
#   bash bench/run.sh --mixed    only the mixed scenario (bench/mixed.sh): slow work beside fast reads,
#                                slow lane on and off, 100k projects on PostgreSQL and SQLite (10k with --quick)
#   bash bench/run.sh --filters  only the filter grid (bench/filters.sh) on an existing database (DB, default grid)
#   bash bench/run.sh --rare     only rare words in `q=` (bench/rare.sh) on an existing database (DB, default grid)
#   bash bench/run.sh --ceiling  only scenarios 1 and 2 at 100k (10k with --quick), each against the
#                                thin HTTP server of bench/ceiling/ and pgbench, with CPU per request
#
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth, user postgres). Installs wrk
# from Debian's packages when missing. Prints one table and appends it, with
# the date and the machine, to bench/RESULTS.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work="$root/target/bench"
mkdir -p "$work"

SIZES="10000 100000 1000000"; SQLITE_SIZE=100000; PEER_SIZE=100000; DURATION=20; CONNECTIONS=64; TITLE="Full run"
PEER=""; MIXED=""; CEILING=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) SIZES="10000"; SQLITE_SIZE=10000; PEER_SIZE=10000; DURATION=5; TITLE="Quick run" ;;
        --sqlite-only) SIZES=""; TITLE="SQLite only" ;;
        --ceiling) CEILING=1 ;;
        --peer) [ "${2:-}" = directus ] || { echo "the one peer is directus" >&2; exit 2; }; PEER=directus; shift ;;
        --mixed) MIXED=1 ;;
        --filters) exec bash "$here/filters.sh" ;;
        --rare) exec bash "$here/rare.sh" ;;
        *) echo "usage: $0 [--quick] [--peer directus] [--mixed] [--ceiling] [--filters] [--rare]" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$PEER" ] && TITLE="$TITLE, with Directus 12.4.0 as the peer"
if [ -n "$CEILING" ]; then
    SIZES=$([ "$DURATION" = 5 ] && echo 10000 || echo 100000); TITLE="$TITLE: the HTTP ceiling"
    (cd "$here/ceiling" && cargo build --release --locked --quiet)
fi

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v pgbench >/dev/null || { echo "pgbench is missing (Debian: postgresql-client or the server package)" >&2; exit 1; }
(cd "$root" && cargo build --release --locked --quiet)
[ -n "$PEER" ] && bash "$here/directus.sh" install
bin="$root/target/release/invest-registry"
py() { python3 "$here/bench.py" "$@"; }
results="$work/results.jsonl"; rss="$work/rss.txt"; : >"$results"; : >"$rss"
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01

server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=""; }
trap 'stop; [ -n "$PEER" ] && bash "$here/directus.sh" stop' EXIT

# start DATABASE_URL: migrates, adds the users, serves; sets base and tokens.
start() {
    export DATABASE_URL="$1" DATA_DIR="$work"
    echo 'bench admin password' | "$bin" user create --username bench.admin --role provincial_admin --password-stdin >/dev/null 2>&1 || true  # may exist (restart)
    echo 'bench staff password' | "$bin" user create --username bench.staff --role park_staff --park yueyang --password-stdin >/dev/null 2>&1 || true
    BIND=127.0.0.1:18088 "$bin" serve >"$work/server.log" 2>&1 &
    server_pid=$!
    base=http://127.0.0.1:18088
    for _ in $(seq 1 100); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    STAFF=$(py login "$base" bench.staff 'bench staff password')
    ADMIN=$(py login "$base" bench.admin 'bench admin password')
}

# scenario NAME ROWS SCRIPT TOKEN [PATH] [PGBENCH_SCRIPT DB]
scenario() {
    local name=$1 rows=$2 script=$3 token=$4 path=${5:-} pgscript=${6:-} db=${7:-}
    echo "-- $name ($rows rows)"
    TOKEN=$token IDS=${IDS:-} PREFIX=${PREFIX:-/api/v1/projects/} PATH_Q=$path wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/wrk/$script" "$base" >"$work/wrk.txt"
    local pg_out=""
    if [ -n "$pgscript" ]; then
        pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "$DURATION" -f "$pgscript" -h 127.0.0.1 -U postgres "$db" >"$work/pgbench.txt" 2>&1 || true
        pg_out="$work/pgbench.txt"
    fi
    py record "$results" "$name" "$rows" "$work/wrk.txt" "$pg_out" "${PEER_OF:-}"
}

# ids_for PARK|all: the ids file scenario 1 draws from.
ids_for() {
    if [ "$1" = all ]; then cut -d' ' -f2 "$work/ids.txt"; else grep "^$1 " "$work/ids.txt" | cut -d' ' -f2; fi >"$work/ids-$1.txt"
    echo "$work/ids-$1.txt"
}

# The HTTP ceiling (--ceiling): scenarios 1 and 2 on ours, on the thin server
# of bench/ceiling/ (the same statements, nothing else) and on pgbench, with
# each server's CPU per request from /proc. Ours is idle while the thin one runs.
load_before=$(cut -d' ' -f1-3 /proc/loadavg); : >"$work/ceiling.jsonl"
ceiling_reads() {
    local rows=$1 db=$2 url=$3 thin_pid name path ids
    DATABASE_URL=$url BIND=127.0.0.1:18089 "$here/ceiling/target/release/http-ceiling" >"$work/ceiling.log" 2>&1 &
    thin_pid=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:18089/api/v1/projects?park=yueyang&limit=1" >/dev/null 2>&1 && break; sleep 0.2; done
    ids=$(ids_for yueyang)
    for name in "1 get by id" "2 first page"; do
        local script=get_path.lua path="/api/v1/projects?park=yueyang&limit=20" sql="$work/first_page.sql"
        [ "$name" = "1 get by id" ] && script=get_by_id.lua path="" sql="$work/get_by_id.sql"
        for who in ours http; do
            local pid=$server_pid url_base=$base
            [ "$who" = http ] && pid=$thin_pid url_base=http://127.0.0.1:18089
            echo "-- $name ($rows rows): $who"
            local before; before=$(py cpu-ticks "$pid")
            TOKEN=$STAFF IDS=$ids PREFIX=/api/v1/projects/ PATH_Q=$path wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
                -s "$here/wrk/$script" "$url_base" >"$work/wrk-$who.txt"
            local after; after=$(py cpu-ticks "$pid")
            py record-ceiling "$work/ceiling.jsonl" "$name" "$rows" "$who" "$work/wrk-$who.txt" "$before" "$after"
        done
        pgbench -n -M prepared -c "$CONNECTIONS" -j 2 -T "$DURATION" -f "$sql" -h 127.0.0.1 -U postgres "$db" >"$work/pgbench.txt" 2>&1 || true
        py record-ceiling "$work/ceiling.jsonl" "$name" "$rows" pgbench "$work/pgbench.txt"
    done
    kill "$thin_pid" 2>/dev/null; wait "$thin_pid" 2>/dev/null || true
}

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

if [ -n "$MIXED" ]; then
    # shellcheck source=mixed.sh
    source "$here/mixed.sh"
    exit 0
fi

for rows in $SIZES; do
    db="bench_$rows"
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
    url="postgres://postgres@127.0.0.1:5432/$db"
    echo "== PostgreSQL, $rows projects: loading"
    start_load=$(date +%s)
    "$bin" bench-load --projects "$rows" --investors $(( rows / 5 )) --database-url "$url" --ids-out "$work/ids.txt"
    psql -q -h 127.0.0.1 -U postgres -d "$db" -c "VACUUM ANALYZE"
    echo "   loaded in $(( $(date +%s) - start_load )) s"
    start "$url"

    py pgbench get_by_id "$rows" "$work/get_by_id.sql"
    py pgbench first_page "$rows" "$work/first_page.sql"
    if [ -n "$CEILING" ]; then ceiling_reads "$rows" "$db" "$url"; stop; continue; fi
    # 500 pages of 20 in; fewer where the park has fewer rows (quick mode).
    pages=$(( rows * 40 / 100 / 20 / 2 )); [ "$pages" -gt 500 ] && pages=500
    mapfile -t deep < <(py deep-page "$base" "$STAFF" "$pages" yueyang)
    py pgbench deep_page "$rows" "$work/deep_page.sql" yueyang "${deep[1]}" "${deep[2]}"

    IDS=$(ids_for yueyang) scenario "1 get by id" "$rows" get_by_id.lua "$STAFF" "" "$work/get_by_id.sql" "$db"
    scenario "2 first page" "$rows" get_path.lua "$STAFF" "/api/v1/projects?park=yueyang&limit=20" "$work/first_page.sql" "$db"
    scenario "3 deep page ($pages in)" "$rows" get_path.lua "$STAFF" "${deep[0]}" "$work/deep_page.sql" "$db"
    scenario "4 search q=芯片" "$rows" get_path.lua "$STAFF" "/api/v1/projects?limit=20&q=$(enc 芯片)"
    scenario "4 search q=台積電" "$rows" get_path.lua "$STAFF" "/api/v1/projects?limit=20&q=$(enc 台積電)"
    scenario "4 search q=量子 (in no project)" "$rows" get_path.lua "$STAFF" "/api/v1/projects?limit=20&q=$(enc 量子)"
    IDS=$(ids_for all) scenario "6 province: get by id" "$rows" get_by_id.lua "$ADMIN"
    scenario "6 province: first page" "$rows" get_path.lua "$ADMIN" "/api/v1/projects?limit=20"
    echo "PostgreSQL $rows projects: $(grep VmHWM /proc/$server_pid/status | tr -s ' ')" >>"$rss"
    scenario "5 create" "$rows" create.lua "$STAFF"
    stop

    if [ -n "$PEER" ] && [ "$rows" = "$PEER_SIZE" ]; then
        echo "== Directus over the same database"
        # The same reads: live rows of the park, newest first, 20 a page.
        reader=$(bash "$here/directus.sh" start "$db")
        base=http://127.0.0.1:18055
        IDS=$(ids_for yueyang) PREFIX=/items/projects/ PEER_OF="1 get by id" \
            scenario "peer Directus: 1 get by id" "$rows" get_by_id.lua "$reader"
        PEER_OF="2 first page" scenario "peer Directus: 2 first page" "$rows" get_path.lua "$reader" \
            "/items/projects?filter%5Bpark_code%5D%5B_eq%5D=yueyang&filter%5Bdeleted_at%5D%5B_null%5D=true&sort=-created_at,-id&limit=20"
        bash "$here/directus.sh" stop
    fi
done

if [ -n "$CEILING" ]; then
    echo "" >>"$here/RESULTS.md"
    echo "# $(date -u +%Y-%m-%d) — on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, loopback, $CONNECTIONS connections, ${DURATION} s a scenario" >>"$here/RESULTS.md"
    echo "" >>"$here/RESULTS.md"
    py report-ceiling "$work/ceiling.jsonl" "$here/RESULTS.md" "$TITLE" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

echo "== SQLite, $SQLITE_SIZE projects"
rm -f "$work/bench.db"*
"$bin" bench-load --projects "$SQLITE_SIZE" --investors $(( SQLITE_SIZE / 5 )) --database-url "$work/bench.db" --ids-out "$work/ids.txt"
start "$work/bench.db"
IDS=$(ids_for yueyang) scenario "1 get by id (SQLite)" "$SQLITE_SIZE" get_by_id.lua "$STAFF"
scenario "2 first page (SQLite)" "$SQLITE_SIZE" get_path.lua "$STAFF" "/api/v1/projects?park=yueyang&limit=20"
echo "SQLite $SQLITE_SIZE projects: $(grep VmHWM /proc/$server_pid/status | tr -s ' ')" >>"$rss"
scenario "5 create (SQLite)" "$SQLITE_SIZE" create.lua "$STAFF"
stop
# The same writers without the service's writer queue (db::writers), for comparison.
SQLITE_WRITER_QUEUE=off start "$work/bench.db"
scenario "5 create (SQLite, busy timeout only)" "$SQLITE_SIZE" create.lua "$STAFF"
stop

{
    echo ""
    echo "# $(date -u +%Y-%m-%d) — $TITLE on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, loopback, $CONNECTIONS connections, ${DURATION} s a scenario"
    echo ""
} >>"$here/RESULTS.md"
py report "$results" "$here/RESULTS.md" "$TITLE" "$rss"
