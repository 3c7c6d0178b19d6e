#!/usr/bin/env bash
# Rare words in `q=` (issue 16, item 3): for projects, investors and talents, a
# word in no row, one in about 0.1 % of rows and one in about 5 %, each as a
# provincial administrator and as yueyang's park_staff. Words are chosen from
# candidates the generator (`bench-load`) makes, the one nearest each share
# after counting them in the database; the real share is printed. For each: the
# median of a few sequential requests (one client) and the p99 of a short wrk
# run at 64 connections. Reuses bench/filters.sh's helpers.
#
#   DB=grid bash bench/rare.sh            an existing database (1M projects, 200k investors, 100k talents)
#   BIN=target/debug/invest-registry bash bench/rare.sh    another build (default: release)
#   DURATION (s a wrk run, default 5), TIMES (sequential requests, default 7)
#   SLOW_WORK_QUEUE (default 64 here): on SQLite `q` runs in the slow lane, whose default queue (16)
#   answers most of 64 connections 503 at once; on PostgreSQL searches no longer take the lane.
set -euo pipefail
DURATION=${DURATION:-5}
source "$(dirname "$0")/grid.sh"
export SLOW_WORK_QUEUE=${SLOW_WORK_QUEUE:-64}

# Candidates (folded, as search_text holds them) for each share; the generator's
# lists in src/loadgen.rs say why each is near it.
declare -A CANDIDATES=(
    [projects/0]="量子纠缠"
    [projects/0.1]="宏碁农业先进封装 郴州材料产业园 宏碁材料"
    [projects/5]="宏碁 材料 芯片"
    [investors/0]="量子纠缠"
    [investors/0.1]="宏碁材料 1234 湘台材料"
    [investors/5]="宏碁 材料 台积"
    [talents/0]="量子纠缠"
    [talents/0.1]="怡君 林怡 巴陵人才计划"
    [talents/5]="工程师 会计师 逢甲大学"
)
# The candidate whose share of live rows is nearest `share` (%), and that share.
pick() {
    local library=$1 share=$2 best="" best_share="" best_miss=""
    local total; total=$(sql "SELECT count(*) FROM $library WHERE deleted_at IS NULL")
    for word in ${CANDIDATES[$library/$share]}; do
        local n; n=$(sql "SELECT count(*) FROM $library WHERE deleted_at IS NULL AND search_text LIKE '%$word%'")
        local real miss
        real=$(python3 -c "print(f'{100 * $n / $total:.3f}')")
        miss=$(python3 -c "import math; print(abs(math.log(($n + 1) / $total * 100 / max($share, 0.0001))))")
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $miss < $best_miss else 1)"; then
            best=$word; best_share=$real; best_miss=$miss
        fi
    done
    echo "$best $best_share"
}

serve_grid 18091 rare

build=$(basename "$(dirname "$bin")")
title="Rare words, slow lane ${SLOW_WORK_CONNECTIONS:-2} connections and a queue of $SLOW_WORK_QUEUE, $db ($(sql "SELECT (SELECT count(*) FROM projects) || ' projects, ' || (SELECT count(*) FROM investors) || ' investors, ' || (SELECT count(*) FROM talents) || ' talents'")), $build build, $(nproc) cores"
results="$work/rare.jsonl"; : >"$results"
echo "== $title; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for library in projects investors talents; do
    for share in 0 0.1 5; do
        read -r word real < <(pick "$library" "$share")
        path="/api/v1/$library?limit=20&q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$word")"
        for role in provincial_admin park_staff; do
            token=$ADMIN; [ "$role" = park_staff ] && token=$STAFF
            p50=$(py filter-p50 "$base" "$token" "$path" "$TIMES")
            TOKEN=$token PATH_Q=$path wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
                -s "$here/wrk/get_path.lua" "$base" >"$work/wrk-rare.txt"
            # filter-record's "parks" column carries the word's real share here.
            echo "   $library q=$word ($real % of rows), $role: $(py filter-record "$results" "$library" "$word" "$real" "$role" "$p50" "$work/wrk-rare.txt")"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$title" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"## {sys.argv[2]}\n")
print("| library | word | share of rows | role | status | p50 ms (1 client) | p99 ms (64) | req/s (64) | non-2xx | p99 ≤ 50 ms |")
print("|---|---|---:|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['library']} | {r['filter']} | {r['parks']} % | {r['role']} | {r['status']} | {r['single_p50']:.1f} | "
          f"{r['p99']:.1f} | {r['rps']:.0f} | {r['non2xx'] + r['errors']} | {'met' if r['p99'] <= 50 else 'missed'} |")
EOF
