#!/usr/bin/env bash
# Browser tests of the web interface. Builds dtbase, serves it on a free
# loopback port with a temporary data directory, runs the playwright-core
# tests in Debian's chromium with node's test runner, and stops the server.
# Screenshots of every page, at desktop and phone sizes, go to
# $ARTIFACTS_DIR/screenshots (default web/e2e/artifacts) on every run; when a
# test fails the server's log goes there too. Arguments name test files to
# run (e.g. tests/web.test.mjs); without any, every test runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export ARTIFACTS_DIR="${ARTIFACTS_DIR:-$here/artifacts}"
mkdir -p "$ARTIFACTS_DIR"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "installing chromium" >&2
  "$root/scripts/apt-install.sh" chromium
fi
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

work="$(mktemp -d)"
(cd "$root" && go build -o "$work/dtbase" ./cmd/dtbase)
pass="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# The demo data (the CROP farm) makes the page timings those of a real twin.
if ! DT_DATA_DIR="$work/data" DT_DEFAULT_USER_PASS="$pass" "$work/dtbase" demo >"$work/demo.log" 2>&1; then
  cat "$work/demo.log" >&2
  echo "dtbase demo failed" >&2
  exit 1
fi
# The echo service of the tests listens on loopback, which only an allow-list opens.
DT_DATA_DIR="$work/data" DT_LISTEN_ADDR=127.0.0.1:0 DT_LOG_FORMAT=json DT_DEFAULT_USER_PASS="$pass" DT_SERVICE_ALLOWED_HOSTS=127.0.0.1 \
  "$work/dtbase" serve 2>"$work/server.log" &
pid=$!
stop() {
  kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

url=""
for _ in $(seq 600); do
  url="$(grep -o '"msg":"dtbase listening","url":"[^"]*"' "$work/server.log" | sed 's/.*"url":"//; s/"$//' || true)"
  [ -n "$url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/server.log" >&2; echo "dtbase did not start" >&2; exit 1; fi
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/server.log" >&2; echo "dtbase did not start in time" >&2; exit 1; }
echo "dtbase at $url" >&2

status=0
(cd "$here" && DTBASE_URL="$url" DTBASE_BIN="$work/dtbase" DTBASE_ADMIN_PASS="$pass" \
  node --test --test-concurrency=1 --test-reporter=spec "${@:-tests/}") || status=$?
if [ "$status" -ne 0 ]; then
  cp "$work/server.log" "$ARTIFACTS_DIR/server.log"
  echo "browser tests failed; screenshots and the server log are in $ARTIFACTS_DIR" >&2
fi
exit "$status"
