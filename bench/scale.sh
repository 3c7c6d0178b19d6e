# Shared start of the 1M-row scenarios (targets.sh, monitoring.sh): sourced
# after setting `db_default`. Sets here, root, work, sizes, db, url, bin and
# psql_db; installs wrk and builds the release binary unless NO_BUILD is set.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/.." && pwd)
work="$root/target/bench"
mkdir -p "$work"
PROJECTS=${PROJECTS:-1000000}; INVESTORS=${INVESTORS:-$(( PROJECTS / 5 ))}
DURATION=${DURATION:-20}; CONNECTIONS=${CONNECTIONS:-16}
db=${DB:-$db_default}
url="postgres://postgres@127.0.0.1:5432/$db"
psql_db() { psql -q -X -h 127.0.0.1 -U postgres -d "$db" "$@"; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -n "${NO_BUILD:-}" ] || (cd "$root" && cargo build --release --locked --quiet)
bin=${BIN:-$root/target/release/invest-registry}
export ACCESS_TOKEN_TTL=86400 RUST_LOG=warn JWT_SECRET=bench-secret-bench-secret-bench-secret-01 DATA_DIR="$work"
