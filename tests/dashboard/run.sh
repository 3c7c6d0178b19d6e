#!/usr/bin/env bash
# The dashboard in a real browser: Debian's Chromium, driven by Selenium,
# signs in as a provincial and as a park user on a fresh SQLite file filled by
# seed-demo, and fails when a target on the page differs from GET
# /api/v1/targets for the same user (tests/dashboard/check.py says what else
# it checks). Screenshots: target/dashboard/dashboard.png (provincial) and
# target/dashboard/dashboard-park.png (Yueyang's viewer).
#
#   bash tests/dashboard/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/target/dashboard"
mkdir -p "$work"

# Chromium, its driver and CJK fonts come from Debian only; nothing is
# downloaded by Selenium (SE_OFFLINE) or the page.
install_browser() {
    local missing=()
    for package in chromium chromium-driver fonts-noto-cjk; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return
    echo "installing ${missing[*]} from Debian"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python_tools() {
    if [ ! -x "$work/venv/bin/python" ] || ! "$work/venv/bin/python" -c 'import selenium' 2>/dev/null; then
        python3 -m venv "$work/venv"
        "$work/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    fi
}

server_pid=""
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }
trap stop_server EXIT

install_browser
python_tools
(cd "$root" && cargo build --locked --quiet)
bin="$root/target/debug/invest-registry"
rm -rf "$work/data" && mkdir -p "$work/data"
export DATABASE_URL="$work/data/dashboard.db" DATA_DIR="$work/data" RUST_LOG=warn SE_OFFLINE=true
"$bin" seed-demo >/dev/null
echo 'dashboard admin password' | "$bin" user create --username dash.admin --role provincial_admin --display-name 省级管理员 --password-stdin >/dev/null
echo 'dashboard park password' | "$bin" user create --username dash.yueyang --role park_viewer --park yueyang --display-name 岳阳查看员 --password-stdin >/dev/null
port=$(python3 "$root/tests/contract/serve.py" free-port)
base="http://127.0.0.1:$port"
BIND="127.0.0.1:$port" "$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
python3 "$root/tests/contract/serve.py" wait-ready "$base"

status=0
"$work/venv/bin/python" "$here/check.py" "$base" dash.admin 'dashboard admin password' "$work/dashboard.png" || status=1
"$work/venv/bin/python" "$here/check.py" "$base" dash.yueyang 'dashboard park password' "$work/dashboard-park.png" || status=1
[ "$status" -eq 0 ] && echo "dashboard: the page's targets are the API's, for a provincial and a park user"
exit "$status"
