#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the test suite and prints its URL.
# Usage: scripts/start-postgres.sh DIR PORT   (stop with: scripts/stop-postgres.sh DIR)
# Debian's PostgreSQL binaries refuse to run as root, so the server runs as
# the postgres user in a directory it owns.
set -euo pipefail
dir=${1:?directory}
port=${2:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "PostgreSQL binaries not found; install postgresql (Debian: apt-get install -y postgresql)" >&2
  exit 1
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "start-postgres: port $port is already in use on 127.0.0.1 (another PostgreSQL?); stop it or choose another port" >&2
  exit 1
fi
mkdir -p "$dir"
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
if ! "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null; then
  echo "start-postgres: the server did not start; its log:" >&2
  tail -20 "$dir/log" >&2
  exit 1
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
