# Sourced by bench/ab.sh and bench/where.sh: starts one server of a
# NAME=BINARY spec on database URL `$url`, logging into `$work`.
#   start_server NAME BINARY   sets pid, base (its address) and token (none for the thin server)
# A NAME beginning with `thin` runs the thin server of bench/ceiling/: `thin`
# as it is (tokio-postgres, actix's worker a core), `thin-libpq` with diesel's
# blocking connection on four workers a core, as the service reads (`DRIVER=libpq`).
start_server() {
    local name=$1 bin=$2
    if [ "${name#thin}" != "$name" ]; then
        local driver=tokio-postgres workers; workers=$(nproc)
        [ "$name" = thin-libpq ] && driver=libpq workers=$((4 * $(nproc)))
        DRIVER=$driver WORKERS=$workers DATABASE_URL=$url BIND=127.0.0.1:18089 "$bin" >"$work/$name.log" 2>&1 & pid=$!
        base=http://127.0.0.1:18089; token=none
        for _ in $(seq 1 100); do curl -fs "$base/api/v1/projects?park=yueyang&limit=1" >/dev/null 2>&1 && break; sleep 0.2; done
    else
        echo 'bench staff password' | DATABASE_URL=$url "$bin" user create --username bench.staff --role park_staff --park yueyang --password-stdin >/dev/null 2>&1 || true
        DATABASE_URL=$url BIND=127.0.0.1:18088 "$bin" serve >"$work/server-$name.log" 2>&1 & pid=$!
        base=http://127.0.0.1:18088
        for _ in $(seq 1 100); do curl -fs "$base/api/v1/health/ready" >/dev/null 2>&1 && break; sleep 0.2; done
        token=$(python3 "$here/bench.py" login "$base" bench.staff 'bench staff password')
    fi
}
