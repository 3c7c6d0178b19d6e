# What bench/filters.sh, bench/rare.sh and the peer scripts share: the database `grid` (DB), the binary (BIN,
# default the release build), wrk, and a service on it with the bench's two users logged in.
# Sourced, not run; the caller sets DURATION's default first.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work="$root/target/bench"
mkdir -p "$work"
db=${DB:-grid}; url="postgres://postgres@127.0.0.1:5432/$db"
TIMES=${TIMES:-7}; CONNECTIONS=${CONNECTIONS:-64}
bin=${BIN:-$root/target/release/invest-registry}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release, or BIN=...)" >&2; exit 1; }
py() { python3 "$here/bench.py" "$@"; }
sql() { psql -X -At -h 127.0.0.1 -U postgres -d "$db" -c "$1"; }
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01 DATA_DIR="$work" DATABASE_URL="$url"

# serve_grid PORT NAME: adds the users, serves on PORT (log in target/bench/NAME-server.log),
# stops it on exit; sets base, ADMIN (provincial_admin) and STAFF (yueyang's park_staff).
serve_grid() {
    echo 'bench admin password' | "$bin" user create --username bench.admin --role provincial_admin --password-stdin >/dev/null 2>&1 || true
    echo 'bench staff password' | "$bin" user create --username bench.staff --role park_staff --park yueyang --password-stdin >/dev/null 2>&1 || true
    BIND=127.0.0.1:$1 "$bin" serve >"$work/$2-server.log" 2>&1 &
    server=$!
    trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
    base=http://127.0.0.1:$1
    for _ in $(seq 1 300); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
    ADMIN=$(py login "$base" bench.admin 'bench admin password')
    STAFF=$(py login "$base" bench.staff 'bench staff password')
}

# serve_beside_peer PORT NAME: serve_grid, plus VIEWER (yueyang's park_viewer), Directus started on
# the same database (bench/directus.sh; sets reader, its token, peer and peer_pid; both stopped on
# exit), sql(), and the ids reads by id draw from: live rows of yueyang and of every park
# (target/bench/peer-ids-LIBRARY-{yueyang,all}.txt). For bench/peer-grid.sh and bench/peer-sql.sh.
serve_beside_peer() {
    serve_grid "$1" "$2"
    echo 'bench viewer password' | "$bin" user create --username bench.viewer --role park_viewer --park yueyang --password-stdin >/dev/null 2>&1 || true
    VIEWER=$(py login "$base" bench.viewer 'bench viewer password')
    trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; bash "$here/directus.sh" stop' EXIT
    reader=$(bash "$here/directus.sh" start "$db")
    peer=http://127.0.0.1:18055
    peer_pid=$(cat "$here/directus/directus.pid")
    kill -0 "$peer_pid" || { echo "Directus did not start: $here/directus/serve.log" >&2; exit 1; }
    for library in projects investors talents; do
        sql "SELECT id FROM $library WHERE park_code = 'yueyang' AND deleted_at IS NULL" >"$work/peer-ids-$library-yueyang.txt"
        sql "SELECT id FROM $library WHERE deleted_at IS NULL" >"$work/peer-ids-$library-all.txt"
    done
}
