#!/usr/bin/env bash
# Runs the Python SDK's tests (python/tests) with Debian's python3 against a
# real `dtbase serve` that the tests build from this checkout and start on a
# free port. With DT_TEST_POSTGRES_URL set, the server uses a fresh database
# on that PostgreSQL server. Needs no package index beyond Debian's: it
# installs python3-pytest and python3-requests with apt when they are missing.
#
# Usage: python/run-tests.sh [pytest args...]
#   DTBASE_BIN=/path/to/dtbase python/run-tests.sh   # test a prebuilt binary
set -euo pipefail
cd "$(dirname "$0")"
PY=/usr/bin/python3
if ! "$PY" -c 'import pytest, requests' 2>/dev/null; then
  echo "installing python3-pytest python3-requests (Debian packages)" >&2
  ../scripts/apt-install.sh python3-pytest python3-requests
fi
export PYTHONDONTWRITEBYTECODE=1
exec "$PY" -m pytest -p no:cacheprovider -q "$@" tests
