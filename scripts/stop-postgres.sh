#!/usr/bin/env bash
# Stops a server started by scripts/start-postgres.sh.
set -euo pipefail
dir=${1:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
"${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
