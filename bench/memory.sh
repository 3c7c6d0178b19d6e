#!/usr/bin/env bash
# The service's memory, builds side by side (an allocator is a memory decision
# as much as a speed one). Each binary serves `bench_ab` (100k projects, see
# ab.sh) with its default workers, in turn, and the row gives its RSS after
# each step: start-up, 8 logins (argon2 takes 19 MiB each), 10 s of wrk on
# the two fast reads, an export of every project to CSV then to XLSX (the
# peak during each, VmHWM reset first), and 10 s idle afterwards. Figures in
# MiB (the kernel's kB ÷ 1024). The environment is every build's: a build that
# needs its own (MIMALLOC_PURGE_DELAY=0, say) takes a wrapper script that sets
# it and execs the binary.
#
#   bash bench/memory.sh NAME=BINARY ...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 NAME=BINARY ..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd); work=$(mktemp -d)
pid=""; trap '[ -n "$pid" ] && kill $pid 2>/dev/null' EXIT
db=bench_ab; url=postgres://postgres@127.0.0.1:5432/$db
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01 DATA_DIR=$work
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1 ||
    { echo "no database $db: run bench/ab.sh once" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -d $db -tAc "select id from projects where park_code = 'yueyang' and deleted_at is null" >"$work/ids.txt"
mb() { awk -v k="$1" '$1 == k":" {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
printf '| build (RSS, MiB) | start-up | 8 logins | fast reads | export CSV: peak / after | export XLSX: peak / after | idle 10 s |\n|---|---:|---:|---:|---:|---:|---:|\n'
for spec in "$@"; do
    name=${spec%%=*}; bin=${spec#*=}
    [ -x "$bin" ] || { echo "$name: no binary at $bin" >&2; exit 1; }
    for role in park_staff provincial_admin; do
        user=bench.mem.$role; park=""; [ $role = park_staff ] && park="--park yueyang"
        # shellcheck disable=SC2086
        echo 'bench memory password' | DATABASE_URL=$url "$bin" user create --username $user --role $role $park --password-stdin >/dev/null 2>&1 || true
    done
    DATABASE_URL=$url BIND=127.0.0.1:18086 "$bin" serve >"$work/server-$name.log" 2>&1 & pid=$!
    base=http://127.0.0.1:18086
    for _ in $(seq 1 100); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    curl -fs "$base/api/v1/health/ready" >/dev/null || { echo "$name did not start (log: $work/server-$name.log)" >&2; exit 1; }
    sleep 1; started=$(mb VmRSS)
    for _ in $(seq 1 4); do
        staff=$(python3 "$here/bench.py" login "$base" bench.mem.park_staff 'bench memory password')
        admin=$(python3 "$here/bench.py" login "$base" bench.mem.provincial_admin 'bench memory password')
    done
    logins=$(mb VmRSS)
    TOKEN=$staff IDS=$work/ids.txt PREFIX=/api/v1/projects/ wrk -t2 -c64 -d5s -s "$here/wrk/get_by_id.lua" "$base" >/dev/null
    TOKEN=$staff PATH_Q="/api/v1/projects?park=yueyang&limit=20" wrk -t2 -c64 -d5s -s "$here/wrk/get_path.lua" "$base" >/dev/null
    reads=$(mb VmRSS)
    exports=""
    for format in csv xlsx; do
        echo 5 >"/proc/$pid/clear_refs"   # VmHWM := VmRSS: the peak from here is the export's
        curl -fs -o /dev/null -H "Authorization: Bearer $admin" "$base/api/v1/projects?format=$format"
        exports="$exports | $(mb VmHWM) / $(mb VmRSS)"
    done
    sleep 10
    printf '| %s | %s | %s | %s%s | %s |\n' "$name" "$started" "$logins" "$reads" "$exports" "$(mb VmRSS)"
    kill $pid; wait $pid 2>/dev/null || true; pid=""
done
rm -rf "$work"
