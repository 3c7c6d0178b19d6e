#!/usr/bin/env bash
# Side-by-side runs of service binaries (and the thin server of bench/ceiling/)
# on one PostgreSQL database: read by id and first page of a park's staff, wrk
# at 64 connections, each binary in turn, ROUNDS times, so that the rows of one
# run compare. Prints req/s, p99, the server's CPU per request (µs, utime +
# stime from /proc, and each apart), its context switches per request,
# voluntary (a thread waited: a socket, a lock) and involuntary (it was
# preempted), summed over the threads alive at both readings (a thread that
# exits in between takes its count with it), and PostgreSQL transactions per
# request.
#
#   bash bench/ab.sh [SECONDS] [ROUNDS] NAME=BINARY ... [thin=bench/ceiling/target/release/http-ceiling]
#
# A NAME beginning with `thin` runs the thin server (`thin`, `thin-libpq`;
# bench/serve.sh).
#
# e.g. build main at two commits, copy each target/release/invest-registry
# aside, and pass both. The database `bench_ab` (100k projects, 20k
# investors) is loaded by the first binary when missing.
set -uo pipefail
secs=${1:-10}; rounds=${2:-2}; shift 2 || true
[ $# -gt 0 ] || { echo "usage: $0 SECONDS ROUNDS NAME=BINARY ..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd); work=$(mktemp -d)
db=bench_ab; url=postgres://postgres@127.0.0.1:5432/$db
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01 DATA_DIR=$work
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
first=${1#*=}
if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db"
    "$first" bench-load --projects 100000 --investors 20000 --database-url "$url" --ids-out "$work/loaded-ids.txt"
    psql -q -h 127.0.0.1 -U postgres -d $db -c "VACUUM ANALYZE"
fi
# The park's live projects, as a read by id draws them.
psql -h 127.0.0.1 -U postgres -d $db -tAc "select id from projects where park_code = 'yueyang' and deleted_at is null" >"$work/ids.txt"
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary/ {n += $2} END {print v, n}'; }
xacts() { psql -h 127.0.0.1 -U postgres -d $db -tAc "select xact_commit + xact_rollback from pg_stat_database where datname = '$db'"; }
source "$here/serve.sh"
pid=""; trap '[ -n "$pid" ] && kill $pid 2>/dev/null' EXIT
for round in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*}; bin=${spec#*=}
    start_server "$name" "$bin"
    for read in "by id" "first page"; do
        script=get_by_id.lua; path=""
        [ "$read" = "first page" ] && script=get_path.lua path="/api/v1/projects?park=yueyang&limit=20"
        run() { TOKEN=$token IDS=$work/ids.txt PREFIX=/api/v1/projects/ PATH_Q=$path wrk -t2 -c64 "$@" -s "$here/wrk/$script" "$base"; }
        run -d2s >/dev/null  # warm-up
        load=$(cut -d' ' -f1 /proc/loadavg); read -r u0 s0 <<<"$(ticks $pid)"; read -r v0 n0 <<<"$(switches $pid)"; x0=$(xacts)
        run -d"${secs}s" --latency >"$work/wrk.txt"
        read -r u1 s1 <<<"$(ticks $pid)"; read -r v1 n1 <<<"$(switches $pid)"; x1=$(xacts)
        requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
        [ "${requests:-0}" -gt 0 ] || { echo "$round $name $read: no requests (see $work/wrk.txt)" >&2; continue; }
        per() { awk -v a="$1" -v b="$2" -v r="$requests" -v k="$3" 'BEGIN { printf "%.2f", (b - a) * k / r }'; }
        printf '%-2s %-10s %-10s %9s req/s  p99 %9s  %6.1f µs CPU/request (user %.1f, sys %.1f)  switches/request %s voluntary, %s involuntary  %s statements/request  non-2xx %s  load %s\n' \
            "$round" "$name" "$read" "$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$work/wrk.txt")" \
            "$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")" "$(per $((u0 + s0)) $((u1 + s1)) 10000)" \
            "$(per "$u0" "$u1" 10000)" "$(per "$s0" "$s1" 10000)" "$(per "$v0" "$v1" 1)" "$(per "$n0" "$n1" 1)" \
            "$(per "$x0" "$x1" 1)" "$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt" | grep . || echo 0)" "$load"
    done
    kill $pid; wait $pid 2>/dev/null; pid=""
  done
done
