# The mixed scenario (issue 16, item 6), sourced by run.sh with --mixed: 8 clients on slow work
# (a CSV export, targets, statistics, rare-word searches) while 56 read by id (28) and the first
# page (28); the fast reads' p99 with the slow lane on (SLOW_WORK_CONNECTIONS, default) and off
# (SLOW_WORK_CONNECTIONS=0: slow work shares the pool, unbounded, as before), and the fast reads
# alone for reference, one after the other in one run, on PostgreSQL and SQLite at MIXED_SIZE
# projects. MIXED_LANES lists the lanes measured (sizes and nice values); MIXED_DBS=postgres or
# sqlite runs one database only. The databases are kept between runs (`bench_mixed_<rows>`, target/bench/mixed-<rows>.db).
MIXED_SIZE=${MIXED_SIZE:-$SQLITE_SIZE}
mixed_results="$work/mixed.jsonl"; : >"$mixed_results"

# The service's /metrics listener in this scenario: the lane's gauges are sampled during each phase.
MIXED_METRICS=127.0.0.1:19464

# sample_lane OUT: every 0.2 s, the slow lane's running and borrowed gauges, one line "running borrowed".
sample_lane() {
    local out=$1
    : >"$out"
    while :; do
        curl -fs "http://$MIXED_METRICS/metrics" | awk '/^db_slow_lane_running /{r=$2} /^db_slow_lane_borrowed /{b=$2} END{if (r != "") print r+0, b+0}' >>"$out" || true
        sleep 0.2
    done
}

# mixed_phase DB_LABEL PHASE WITH_SLOW: the three wrk runs at once, then their figures; WITH_SLOW
# is yes, no (the fast reads alone) or alone (the slow work alone: what the lane serves when idle).
mixed_phase() {
    local label=$1 phase=$2 with_slow=$3 load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    local slow_paths="/api/v1/projects?format=csv&stage=operating /api/v1/targets /api/v1/stats/projects?group_by=park,stage /api/v1/projects?limit=20&q=$(enc 台積電) /api/v1/projects?limit=20&q=$(enc 量子)"
    echo "-- mixed, $label, $phase (load $load)"
    local fast=() id_out="" page_out=""
    if [ "$with_slow" != alone ]; then
        id_out=$work/mixed-id.txt page_out=$work/mixed-page.txt
        TOKEN=$STAFF IDS=$(ids_for yueyang) wrk -t1 -c28 -d"${DURATION}s" --latency -s "$here/wrk/get_by_id.lua" "$base" >"$id_out" &
        fast+=($!)
        TOKEN=$STAFF PATH_Q="/api/v1/projects?park=yueyang&limit=20" wrk -t1 -c28 -d"${DURATION}s" --latency -s "$here/wrk/get_path.lua" "$base" >"$page_out" &
        fast+=($!)
    fi
    if [ "$with_slow" != no ]; then
        sample_lane "$work/mixed-lane.txt" &
        local sampler=$!
        TOKEN=$ADMIN PATHS=$slow_paths wrk -t1 -c8 -d"${DURATION}s" --timeout 30s --latency -s "$here/wrk/slow_mix.lua" "$base" >"$work/mixed-slow.txt"
        kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    fi
    [ ${#fast[@]} -eq 0 ] || wait "${fast[@]}"
    py mixed-record "$mixed_results" "$label" "$phase" "$load" "$id_out" "$page_out" \
        "$([ "$with_slow" != no ] && echo "$work/mixed-slow.txt")" "$([ "$with_slow" != no ] && echo "$work/mixed-lane.txt")"
}

# A few seconds of reads after a start, so that no phase pays for a cold cache.
mixed_warm_up() {
    TOKEN=$STAFF IDS=$(ids_for yueyang) wrk -t1 -c8 -d3s -s "$here/wrk/get_by_id.lua" "$base" >/dev/null
    TOKEN=$STAFF PATH_Q="/api/v1/projects?park=yueyang&limit=20" wrk -t1 -c8 -d2s -s "$here/wrk/get_path.lua" "$base" >/dev/null
}

# The lanes to compare, each "CONNECTIONS:NICE:PARALLEL_WORKERS:FREE_CORES" (SLOW_WORK_CONNECTIONS,
# SLOW_WORK_NICE, on PostgreSQL SLOW_WORK_PARALLEL_WORKERS (-1: the server's own), and
# SLOW_WORK_FREE_CORES (0: no connection is spare)); the first is the default. Each is measured
# beside the fast reads and with the slow work alone. The lane off (0) is always measured last,
# as before the lane.
MIXED_LANES=${MIXED_LANES:-"2:10:0:1 2:10:0:0 1:10:0:1"}

# mixed_on URL LABEL: the fast reads alone, beside slow work in each lane, then with the lane off.
mixed_on() {
    local url=$1 label=$2 lane first=yes connections nice workers free settings
    for lane in $MIXED_LANES; do
        IFS=: read -r connections nice workers free <<<"$lane"
        free=${free:-1}
        settings="SLOW_WORK_CONNECTIONS=$connections, SLOW_WORK_NICE=$nice, SLOW_WORK_PARALLEL_WORKERS=$workers, SLOW_WORK_FREE_CORES=$free"
        METRICS_BIND=$MIXED_METRICS SLOW_WORK_CONNECTIONS=$connections SLOW_WORK_NICE=$nice SLOW_WORK_PARALLEL_WORKERS=$workers SLOW_WORK_FREE_CORES=$free start "$url"
        mixed_warm_up
        if [ "$first" = yes ]; then
            mixed_phase "$label" "fast reads alone" no
            first=no
        fi
        mixed_phase "$label" "slow lane on ($settings)" yes
        mixed_phase "$label" "slow work alone ($settings)" alone
        stop
    done
    SLOW_WORK_CONNECTIONS=0 start "$url"
    mixed_warm_up
    mixed_phase "$label" "slow lane off (SLOW_WORK_CONNECTIONS=0)" yes
    stop
}

db="bench_mixed_$MIXED_SIZE"
url="postgres://postgres@127.0.0.1:5432/$db"
if [ "${MIXED_DBS:-both}" != sqlite ]; then
    if [ -z "$(psql -tA -h 127.0.0.1 -U postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ] || [ ! -s "$work/mixed-ids-$MIXED_SIZE.txt" ]; then
        echo "== PostgreSQL, $MIXED_SIZE projects: loading"
        psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
        "$bin" bench-load --projects "$MIXED_SIZE" --investors $(( MIXED_SIZE / 5 )) --database-url "$url" --ids-out "$work/mixed-ids-$MIXED_SIZE.txt"
        psql -q -h 127.0.0.1 -U postgres -d "$db" -c "VACUUM ANALYZE"
    fi
    cp "$work/mixed-ids-$MIXED_SIZE.txt" "$work/ids.txt"
    mixed_on "$url" "PostgreSQL"
fi

sqlite_db="$work/mixed-$MIXED_SIZE.db"
if [ "${MIXED_DBS:-both}" != postgres ]; then
    if [ ! -s "$sqlite_db" ]; then
        echo "== SQLite, $MIXED_SIZE projects: loading"
        "$bin" bench-load --projects "$MIXED_SIZE" --investors $(( MIXED_SIZE / 5 )) --database-url "$sqlite_db" --ids-out "$work/mixed-ids-sqlite-$MIXED_SIZE.txt"
    fi
    cp "$work/mixed-ids-sqlite-$MIXED_SIZE.txt" "$work/ids.txt"
    mixed_on "$sqlite_db" "SQLite"
fi

{
    echo ""
    echo "# $(date -u +%Y-%m-%d) — Mixed scenario on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, loopback, ${DURATION} s a phase, $MIXED_SIZE projects"
    echo ""
} >>"$here/RESULTS.md"
py mixed-report "$mixed_results" "$here/RESULTS.md"
