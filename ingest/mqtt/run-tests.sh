#!/usr/bin/env bash
# Runs the MQTT ingestion tests against Debian's mosquitto, installing it
# when it is missing: the no-loss test (broker and subscriber restarted
# mid-stream; every reading stored exactly once), bad input, sensors from a
# template, and `dtbase serve` subscribed end to end. The tests start their
# own brokers on free loopback ports. With DT_TEST_POSTGRES_URL set they run
# on PostgreSQL. DT_BENCH=1 adds the ingest benchmark (MQTT vs HTTP rates).
#
# Usage: ingest/mqtt/run-tests.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/sbin/mosquitto ]; then
  echo "installing mosquitto (Debian package)" >&2
  apt-get install -y -q mosquitto >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q mosquitto >/dev/null; }
fi
go test -count=1 "$@" ./ingest/mqtt/
go test -count=1 -run 'TestServeMQTT' "$@" ./app/
