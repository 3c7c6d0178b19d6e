#!/usr/bin/env bash
# The filter grid (issue 16, item 2): every documented list filter of projects,
# investors and talents, alone, with one park and with two, as a provincial
# administrator and as a park's staff (yueyang). For each: the median of a few
# sequential requests (one client) and the p99 of a short wrk run at 64
# connections. Prints the worst ten; the whole grid goes to target/bench/filters-grid.md
# (a part of it, with ONLY or MATCH, to filters-grid-part.md).
#
#   DB=grid bash bench/filters.sh         an existing database (1M projects, 200k investors, 100k talents)
#   BIN=target/debug/invest-registry DB=grid bash bench/filters.sh   the debug build: finds plans, adds CPU
#   ONLY=investors bash bench/filters.sh  one library; DURATION (s a wrk run, default 2) and TIMES (default 7)
#   MATCH='investors (origin|region)=' bash bench/filters.sh   the shapes whose "library filter" matches a regex
set -euo pipefail
DURATION=${DURATION:-2}
if [ -n "${MATCH:-}" ]; then
    status=0; [[ x =~ $MATCH ]] || status=$?
    [ "$status" -le 1 ] || { echo "MATCH is not a regular expression: $MATCH" >&2; exit 2; }
fi
source "$(dirname "$0")/grid.sh"

serve_grid 18090 filters
# A yueyang investor that employs talents, for `employer=`.
employer=$(psql -X -At -h 127.0.0.1 -U postgres -d "$db" -c \
    "SELECT employer_id FROM talents WHERE park_code = 'yueyang' AND employer_id IS NOT NULL AND deleted_at IS NULL LIMIT 1")

build=$(basename "$(dirname "$bin")")
title="Filter grid, $db ($(psql -X -At -h 127.0.0.1 -U postgres -d "$db" -c "SELECT (SELECT count(*) FROM projects) || ' projects, ' || (SELECT count(*) FROM investors) || ' investors, ' || (SELECT count(*) FROM talents) || ' talents'")), $build build, $(nproc) cores"
# A part of the grid (ONLY, MATCH) keeps its own files: the whole grid's stay.
part=""; [ -n "${ONLY:-}${MATCH:-}" ] && part="-part"
results="$work/filters$part.jsonl"; : >"$results"
echo "== $title; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
while IFS=$'\t' read -r library wanted parks path; do
    [ -n "${ONLY:-}" ] && [ "$library" != "$ONLY" ] && continue
    [ -n "${MATCH:-}" ] && ! [[ "$library $wanted" =~ $MATCH ]] && continue
    for role in provincial_admin park_staff; do
        token=$ADMIN; [ "$role" = park_staff ] && token=$STAFF
        p50=$(py filter-p50 "$base" "$token" "$path" "$TIMES")
        TOKEN=$token PATH_Q=$path wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
            -s "$here/wrk/get_path.lua" "$base" >"$work/wrk-filters.txt"
        echo "   $library $wanted, $parks, $role: $(py filter-record "$results" "$library" "$wanted" "$parks" "$role" "$p50" "$work/wrk-filters.txt")"
    done
done < <(py filter-cases "$employer")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
py filter-report "$results" "$work/filters-grid$part.md" "$title"
