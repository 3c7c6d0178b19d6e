#!/usr/bin/env bash
# Where a fast read's CPU goes under load, side by side (issue 16, item 1):
# each server in turn serves one read (by id or the first page) to wrk at 64
# connections while `perf record` samples it on the software clock (no
# hardware counters needed). The samples are grouped by crate (the kernel,
# libc, libpq, the allocator, each Rust crate) and scaled by the server's
# CPU per request from /proc over the same window: µs a request in each group.
#
#   bash bench/where.sh [by-id|page] [SECONDS] NAME=BINARY ... [thin=…/http-ceiling] [thin-libpq=…/http-ceiling]
#
# Servers as in bench/ab.sh (the database `bench_ab`; a NAME beginning with
# `thin` runs the thin server). Functions are named from the binaries'
# symbols; the profiles stay under target/bench/where/.
set -uo pipefail
read_kind=${1:-by-id}; secs=${2:-10}; shift 2 || true
[ $# -gt 0 ] || { echo "usage: $0 by-id|page SECONDS NAME=BINARY ..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd); out="$here/../target/bench/where"; mkdir -p "$out"
work=$(mktemp -d); db=bench_ab; url=postgres://postgres@127.0.0.1:5432/$db
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01 DATA_DIR=$work
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1 \
    || { echo "no database $db: run bench/ab.sh once to load it" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -d $db -tAc "select id from projects where park_code = 'yueyang' and deleted_at is null" >"$work/ids.txt"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
source "$here/serve.sh"
pid=""; trap '[ -n "$pid" ] && kill $pid 2>/dev/null' EXIT
cpus=""; reports=()
for spec in "$@"; do
    name=${spec%%=*}; bin=${spec#*=}
    start_server "$name" "$bin"
    script=get_by_id.lua; path=""
    [ "$read_kind" = page ] && script=get_path.lua path="/api/v1/projects?park=yueyang&limit=20"
    run() { TOKEN=$token IDS=$work/ids.txt PREFIX=/api/v1/projects/ PATH_Q=$path wrk -t2 -c64 "$@" -s "$here/wrk/$script" "$base"; }
    run -d2s >/dev/null  # warm-up
    run -d"$((secs + 2))s" >"$work/wrk.txt" & client=$!
    sleep 1
    c0=$(ticks $pid); r0=$(date +%s.%N)
    perf record -q -F 2000 -p $pid -o "$out/$name.data" -- sleep "$secs" 2>/dev/null
    c1=$(ticks $pid); r1=$(date +%s.%N)
    wait $client
    rate=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    # CPU a request over perf's window: ticks (1/100 s) ÷ (req/s × seconds).
    cpu=$(awk -v a="$c0" -v b="$c1" -v r="$rate" -v t0="$r0" -v t1="$r1" 'BEGIN { printf "%.1f", (b - a) * 10000 / (r * (t1 - t0)) }')
    printf '%-12s %s %9.0f req/s  %s µs CPU/request\n' "$name" "$read_kind" "$rate" "$cpu"
    perf report -i "$out/$name.data" --no-children --sort dso,sym 2>/dev/null >"$out/$name.txt"
    cpus="$cpus${cpus:+,}$name=$cpu"; reports+=("$name=$out/$name.txt")
    kill $pid; wait $pid 2>/dev/null; pid=""
done
echo
python3 "$here/bench.py" perf-groups "$cpus" "${reports[@]}"
