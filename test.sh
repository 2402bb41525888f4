#!/usr/bin/env bash
# Runs the whole dtbase test suite: Go packages, the Python SDK against a
# real server, and the browser tests. The Go and Python suites run on SQLite,
# or on PostgreSQL when DT_TEST_POSTGRES_URL is set (see .ci/run).
#
# What the tests need beyond Go (mosquitto, chromium, python3-aiosmtpd,
# python3-pytest, python3-requests, Node packages) is installed first when
# missing; from then on a test that finds one missing fails rather than
# skips (DT_TEST_REQUIRE_TOOLS).
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-test-deps.sh
export DT_TEST_REQUIRE_TOOLS=1

echo "== go test ./..."
go test -count=1 -timeout 20m ./...

echo "== Python SDK"
python/run-tests.sh

if [ -z "${DT_TEST_POSTGRES_URL:-}" ]; then
  echo "== browser tests"
  web/e2e/run.sh
fi
echo "== all tests passed"
