# Shared by the fault scripts: build, free ports, start and stop the service,
# log in. Loopback only; every wait is bounded.
set -euo pipefail

FAULTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$FAULTS_DIR/../.." && pwd)"
# FAULT_PROFILE=release for figures worth comparing with bench/; debug is
# what the test suite has built already (argon2 is optimised in both).
FAULT_PROFILE="${FAULT_PROFILE:-debug}"
SECRET="fault-script-secret-fault-script-secret-0"
ADMIN_PASSWORD="fault admin password 1"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

build() {
    if [ "$FAULT_PROFILE" = release ]; then
        (cd "$REPO_DIR" && cargo build --locked --release -q)
        BIN="$REPO_DIR/target/release/invest-registry"
    else
        (cd "$REPO_DIR" && cargo build --locked -q)
        BIN="$REPO_DIR/target/debug/invest-registry"
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# start_service DATABASE_URL: starts the service in the background on a free
# port; sets API_PORT, BASE, SERVICE_PID. Extra settings come from the caller's env.
start_service() {
    local url="$1"
    API_PORT="${API_PORT:-$(free_port)}"
    BASE="http://127.0.0.1:$API_PORT"
    DATABASE_URL="$url" BIND="127.0.0.1:$API_PORT" JWT_SECRET="$SECRET" DATA_DIR="$WORK/data" \
        RUST_LOG="${RUST_LOG:-warn}" "$BIN" serve >>"$WORK/service.log" 2>&1 &
    SERVICE_PID=$!
    wait_for "$BASE/api/v1/health/live" 200 60 || fail "the service did not start (see $WORK/service.log)"
}

# wait_for URL STATUS SECONDS: polls every 0.2 s.
wait_for() {
    local url="$1" want="$2" seconds="$3" i
    for i in $(seq 1 $((seconds * 5))); do
        [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)" = "$want" ] && return 0
        sleep 0.2
    done
    return 1
}

create_admin() {
    echo "$ADMIN_PASSWORD" | DATABASE_URL="$1" "$BIN" user create --username fault.admin --role provincial_admin --password-stdin >/dev/null
}

login_token() {
    curl -s -m 30 "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"username\": \"fault.admin\", \"password\": \"$ADMIN_PASSWORD\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

stop_service() {
    if [ -n "${SERVICE_PID:-}" ] && kill -0 "$SERVICE_PID" 2>/dev/null; then
        kill "$SERVICE_PID" 2>/dev/null || true
        wait "$SERVICE_PID" 2>/dev/null || true
    fi
}
