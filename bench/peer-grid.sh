#!/usr/bin/env bash
# The peer grid (issue 16, item 5): every case of the filter grid (bench/filters.sh)
# and the other documented reads Directus can serve, each against the service and
# then against Directus (bench/directus.sh) on the same database, both running.
# For each side: the median of a few sequential requests, then wrk at 64
# connections; the server's CPU per request (/proc/<pid>/stat) and the CPU of the
# PostgreSQL backends on the database per request. Prints the worst ten by
# ours ÷ peer; the whole table goes to target/bench/peer-grid.md.
#
#   bash bench/peer-grid.sh                 database peer_grid (loaded when missing: 100k projects,
#                                           20k investors, 10k talents)
#   DB=name BIN=path DURATION=2 TIMES=7     another database, binary, seconds a wrk run, sequential requests
#   ONLY=investors                          one library
#   KEYS=file OUT=name                      only the cases named in file (library, read, parks, role,
#                                           tab-separated, as `bench.py peer-worst` prints them), into
#                                           target/bench/name.{jsonl,md}: e.g. the worst ten again, longer
set -euo pipefail
export DB=${DB:-peer_grid}
DURATION=${DURATION:-2}
source "$(dirname "$0")/grid.sh"

if ! psql -X -At -h 127.0.0.1 -U postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
    "$bin" bench-load --projects 100000 --investors 20000 --talents 10000 --database-url "$url"
    psql -q -h 127.0.0.1 -U postgres -d "$db" -c "VACUUM ANALYZE"
fi
[ -f "$here/directus/node_modules/directus/cli.js" ] || bash "$here/directus.sh" install

serve_beside_peer 18091 peer-grid
employer=$(sql "SELECT employer_id FROM talents WHERE park_code = 'yueyang' AND employer_id IS NOT NULL AND deleted_at IS NULL LIMIT 1")
deep_pages=500
mapfile -t deep < <(py deep-page "$base" "$STAFF" "$deep_pages" yueyang)
python3 - "$work/peer-context.json" "$base" "$STAFF" "$ADMIN" "$employer" "$work" "$deep_pages" "${deep[0]}" <<'EOF'
import datetime, json, sys, urllib.request
out, base, staff, admin, employer, work, pages, deep = sys.argv[1:]
def second(library, token, park):
    first = f"/api/v1/{library}?{'park=yueyang&' if park else ''}limit=20"
    req = urllib.request.Request(base + first, headers={"Authorization": f"Bearer {token}"})
    return f"{first}&cursor={json.load(urllib.request.urlopen(req))['next_cursor']}"
today = datetime.date.today()
libraries = ("projects", "investors", "talents")
json.dump({"employer": employer, "today": today.isoformat(), "youth_year": today.year - 35,
           "ids": {l: {p: f"{work}/peer-ids-{l}-{p}.txt" for p in ("yueyang", "all")} for l in libraries},
           "second": {l: {"park_staff": second(l, staff, True), "provincial_admin": second(l, admin, False)} for l in libraries},
           "deep_pages": int(pages), "deep": deep}, open(out, "w"))
EOF

# measure WHO BASE TOKEN TARGET PID: the sequential median, then wrk; prints "p50 status ticks0 ticks1 pg".
measure() {
    local who=$1 url_base=$2 token=$3 target=$4 pid=$5 script=get_path.lua path=$4 ids="" prefix="" first=$4
    if [[ $target == ids:* ]]; then
        IFS=: read -r _ ids prefix <<<"$target"
        script=get_by_id.lua path=""; first="$prefix$(head -1 "$ids")"
    fi
    local p50; p50=$(py filter-p50 "$url_base" "$token" "$first" "$TIMES")
    local t0; t0=$(py cpu-ticks "$pid")
    py pg-ticks "$db" >"$work/peer-pg.json"
    TOKEN=$token PATH_Q=$path IDS=$ids PREFIX=$prefix wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
        -s "$here/wrk/$script" "$url_base" >"$work/peer-wrk-$who.txt"
    echo "$p50 $t0 $(py cpu-ticks "$pid") $(py pg-ticks "$db" "$work/peer-pg.json")"
}

title="Peer grid, $db ($(sql "SELECT (SELECT count(*) FROM projects) || ' projects, ' || (SELECT count(*) FROM investors) || ' investors, ' || (SELECT count(*) FROM talents) || ' talents'")), $(basename "$(dirname "$bin")") build against Directus 12.4.0, $(nproc) cores"
out=${OUT:-peer-grid}
results="$work/$out.jsonl"; same="$work/$out-same.tsv"; : >"$results"; : >"$same"; : >"$work/peer-not-served.tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== $title; load before: $load_before"
while IFS=$'\t' read -r library what parks role ours_target peer_target note; do
    if [ "$peer_target" = - ]; then printf '%s\t%s\t%s\t%s\n' "$library" "$what" "$ours_target" "$note" >>"$work/peer-not-served.tsv"; continue; fi
    [ -n "${ONLY:-}" ] && [ "$library" != "$ONLY" ] && continue
    [ -n "${KEYS:-}" ] && ! grep -qxF "$library"$'\t'"$what"$'\t'"$parks"$'\t'"$role" "$KEYS" && continue
    case $role in provincial_admin) token=$ADMIN ;; park_viewer) token=$VIEWER ;; *) token=$STAFF ;; esac
    echo "-- $library $what, $parks, $role"
    read -r p50 status t0 t1 pg < <(measure ours "$base" "$token" "$ours_target" "$server")
    echo "   $(py peer-record "$results" "$library" "$what" "$parks" "$role" ours "$note" "$p50 $status" "$t0" "$t1" "$pg" "$work/peer-wrk-ours.txt")"
    read -r p50 status t0 t1 pg < <(measure peer "$peer" "$reader" "$peer_target" "$peer_pid")
    echo "   $(py peer-record "$results" "$library" "$what" "$parks" "$role" peer "$note" "$p50 $status" "$t0" "$t1" "$pg" "$work/peer-wrk-peer.txt")"
    printf '%s\t%s\t%s\t%s\t%s\n' "$library" "$what" "$parks" "$role" "$(py peer-same "$base" "$token" "$ours_target" "$peer" "$reader" "$peer_target")" >>"$same"
done < <(py peer-cases "$work/peer-context.json")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load after: $load_after"
py peer-report "$results" "$same" "$work/$out.md" "$title, ${DURATION} s a wrk run" "$load_before" "$load_after"
echo "Not served by the peer:"; cat "$work/peer-not-served.tsv"
