#!/usr/bin/env bash
# Runs the Python SDK's tests (python/tests) with Debian's python3 against a
# real `dtbase serve` that the tests build from this checkout and start on a
# free port. With DT_TEST_POSTGRES_URL set, the server uses a fresh database
# on that PostgreSQL server.
#
# It installs what the tests drive from Debian's packages when missing:
# pytest and requests (required); pandas, statsmodels, matplotlib, tqdm,
# nbclient, nbformat, ipykernel and mypy. Unless DT_TEST_POSTGRES_URL is set
# (they do not depend on the database), it also runs `mypy --strict` on the package, with the type
# stubs of requests and tqdm from PyPI, and builds the wheel (into
# DT_WHEEL_DIR when set).
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
if ! "$PY" -c 'import pandas, statsmodels, matplotlib, tqdm, nbclient, nbformat, ipykernel, mypy' 2>/dev/null; then
  echo "installing pandas, statsmodels, matplotlib, tqdm, nbclient, ipykernel, mypy (Debian packages)" >&2
  ../scripts/apt-install.sh python3-pandas python3-statsmodels python3-matplotlib python3-tqdm \
    python3-nbclient python3-nbformat python3-ipykernel python3-mypy
fi
export PYTHONDONTWRITEBYTECODE=1

if [ -z "${DT_TEST_POSTGRES_URL:-}" ]; then
  if "$PY" -c 'import mypy' 2>/dev/null; then
    # Stubs go to a directory of their own, seen by mypy only.
    stubs=${TMPDIR:-/tmp}/dtbase-python-stubs
    if [ ! -d "$stubs/requests-stubs" ]; then
      "$PY" -m pip install -q --disable-pip-version-check --target "$stubs" types-requests types-tqdm >/dev/null 2>&1 || true
    fi
    if [ -d "$stubs/requests-stubs" ]; then
      echo "== mypy --strict dtbase_client"
      PYTHONPATH="$stubs" "$PY" -m mypy --cache-dir "$stubs/.mypy_cache" dtbase_client
    else
      echo "warning: could not fetch types-requests and types-tqdm from PyPI; type check skipped" >&2
    fi
  else
    echo "warning: mypy is not installed; type check skipped" >&2
  fi
  echo "== wheel"
  wheels=${DT_WHEEL_DIR:-$(mktemp -d)}
  "$PY" -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w "$wheels" . >/dev/null
  rm -rf build dtbase_client.egg-info
  "$PY" - "$wheels" <<'EOF'
import pathlib, sys, zipfile
wheel = max(pathlib.Path(sys.argv[1]).glob("dtbase_client-*.whl"), key=lambda p: p.stat().st_mtime)
names = set(zipfile.ZipFile(wheel).namelist())
missing = {"dtbase_client/py.typed", "dtbase_client/frames.py", "dtbase_client/retry.py"} - names
assert not missing, f"{wheel.name} lacks {sorted(missing)}"
print("built", wheel.name)
EOF
  [ -n "${DT_WHEEL_DIR:-}" ] || rm -rf "$wheels"
fi

exec "$PY" -m pytest -p no:cacheprovider -q "$@" tests
