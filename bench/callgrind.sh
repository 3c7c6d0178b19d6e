#!/usr/bin/env bash
# Instructions per request of the two fast reads (issue 16, item 1), counted
# by valgrind's callgrind on the server process: repeatable for the same
# binary and data whatever else the machine is doing, so builds compare
# without a quiet machine. One worker, one keep-alive client; the counters
# are zeroed after a warm-up and dumped after N requests of each read.
#
#   bash bench/callgrind.sh BINARY [N]     prints instructions per request, by id and first page,
#                                          and keeps the profiles under target/bench/callgrind/
# Needs the database `bench_ab` of bench/ab.sh (loaded there when missing).
set -euo pipefail
bin=${1:?service binary}; n=${2:-200}
here=$(cd "$(dirname "$0")" && pwd); out="$here/../target/bench/callgrind"; mkdir -p "$out"
work=$(mktemp -d); db=bench_ab; url=postgres://postgres@127.0.0.1:5432/$db
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01 DATA_DIR=$work WORKERS=1
echo 'bench staff password' | DATABASE_URL=$url "$bin" user create --username bench.staff --role park_staff --park yueyang --password-stdin >/dev/null 2>&1 || true
id=$(psql -h 127.0.0.1 -U postgres -d $db -tAc "select id from projects where park_code = 'yueyang' and deleted_at is null limit 1")
name=$(basename "$bin")-$$
DATABASE_URL=$url BIND=127.0.0.1:18087 valgrind --tool=callgrind --callgrind-out-file="$out/$name.%p" \
    "$bin" serve >"$work/server.log" 2>&1 &
pid=$!; trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -fs http://127.0.0.1:18087/api/v1/health/ready >/dev/null 2>&1 && break; sleep 0.5; done
token=$(python3 "$here/bench.py" login http://127.0.0.1:18087 bench.staff 'bench staff password')
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'; }
for read in by-id first-page; do
    path="/api/v1/projects/$id"; [ $read = first-page ] && path="/api/v1/projects?park=yueyang&limit=20"
    python3 "$here/bench.py" keep-alive 127.0.0.1 18087 "$path" "$token" 50 >/dev/null
    callgrind_control --zero $pid >/dev/null 2>&1
    python3 "$here/bench.py" keep-alive 127.0.0.1 18087 "$path" "$token" "$n" >/dev/null
    callgrind_control --dump=$read $pid >/dev/null 2>&1
    sleep 1
    file=$(ls -t "$out/$name.$pid".* | head -1); mv "$file" "$out/$name.$read"
    printf '%-12s %10d instructions per request  (%s)\n' "$read" $(( $(total "$out/$name.$read") / n )) "$out/$name.$read"
done
