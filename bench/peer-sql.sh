#!/usr/bin/env bash
# What each side of the peer grid sends to PostgreSQL: the cases named in KEYS
# (library, read, parks, role, tab-separated, as bench/peer-grid.sh takes them),
# REQUESTS sequential requests each to the service and to Directus, on a copy of
# the database whose statements are all logged (log_min_duration_statement = 0 on
# that database only). Prints statements per request and the statements' own time
# per request (parse + bind + execute, as logged), and keeps each side's statements
# in target/bench/peer-sql/.
#
#   KEYS=file bash bench/peer-sql.sh        copies DB (default peer_grid) to DB_sql when missing
#   PG_LOG=path                             the server's log (default Debian's for 15/main)
set -euo pipefail
export DB=${DB:-peer_grid}_sql
source_db=${DB%_sql}
source "$(dirname "$0")/grid.sh"
: "${KEYS:?KEYS=file of cases}"
log=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
requests=${REQUESTS:-5}
if ! psql -X -At -h 127.0.0.1 -U postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db TEMPLATE $source_db"
fi
psql -q -h 127.0.0.1 -U postgres -c "ALTER DATABASE $db SET log_min_duration_statement = 0"

serve_beside_peer 18092 peer-sql
# The grid's context (cursors, the deep page) of the source database holds here too: same rows.
[ -f "$work/peer-context.json" ] || { echo "run bench/peer-grid.sh first (its context file)" >&2; exit 1; }
mkdir -p "$work/peer-sql"; rm -f "$work/peer-sql/"*
n=0
while IFS=$'\t' read -r library what parks role ours_target peer_target note; do
    grep -qxF "$library"$'\t'"$what"$'\t'"$parks"$'\t'"$role" "$KEYS" || continue
    n=$((n + 1))
    case $role in provincial_admin) token=$ADMIN ;; park_viewer) token=$VIEWER ;; *) token=$STAFF ;; esac
    line="$library, $what, $parks, $role"
    for side in ours peer; do
        url_base=$base tok=$token target=$ours_target
        [ $side = peer ] && url_base=$peer tok=$reader target=$peer_target
        if [[ $target == ids:* ]]; then IFS=: read -r _ ids prefix <<<"$target"; target="$prefix$(head -1 "$ids")"; fi
        py filter-p50 "$url_base" "$tok" "$target" 1 >/dev/null  # warm: plans and caches
        sleep 0.3; from=$(stat -c %s "$log")
        py filter-p50 "$url_base" "$tok" "$target" "$requests" >/dev/null
        sleep 0.3
        tail -c +$((from + 1)) "$log" | grep -F "@$db " >"$work/peer-sql/$n-$side.log" || true
        line="$line | $(python3 - "$work/peer-sql/$n-$side.log" "$requests" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
durations = [float(m) for m in re.findall(r"duration: ([\d.]+) ms", text)]
statements = len(re.findall(r"duration: [\d.]+ ms  (?:execute|statement)", text))
n = int(sys.argv[2])
print(f"{statements / n:.1f} statements, {sum(durations) / n:.2f} ms")
EOF
)"
    done
    echo "$line"
done < <(py peer-cases "$work/peer-context.json")
psql -q -h 127.0.0.1 -U postgres -c "ALTER DATABASE $db RESET log_min_duration_statement"
