#!/usr/bin/env bash
# Usage: scripts/apt-install.sh PACKAGE...
#
# Installs Debian packages with apt-get (through sudo unless root). When
# another process holds apt's or dpkg's lock (unattended-upgrades, a test
# run beside this one), it waits for the lock, up to APT_LOCK_TIMEOUT
# seconds (600 by default), saying so, instead of failing at once.
set -euo pipefail
timeout="${APT_LOCK_TIMEOUT:-600}"
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

# apt_get runs apt-get "$@", again every 5 s while the failure is a held
# lock. DPkg::Lock::Timeout makes apt wait for dpkg's lock itself; the
# lists lock of apt-get update has no such option, hence the loop.
apt_get() {
  local deadline=$((SECONDS + timeout)) out
  echo "apt-install: apt-get $* (waiting up to ${timeout}s for another apt/dpkg process to finish, if one runs)" >&2
  while :; do
    if out="$(DEBIAN_FRONTEND=noninteractive "${sudo[@]}" "${APT_GET:-apt-get}" -o DPkg::Lock::Timeout="$timeout" "$@" 2>&1)"; then
      return 0
    fi
    if ! grep -qiE 'could not get lock|unable to (acquire|lock)|another process' <<<"$out"; then
      printf '%s\n' "$out" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      printf '%s\n' "$out" >&2
      echo "apt-install: another process still holds the apt/dpkg lock after ${timeout}s; retry when it has finished (or raise APT_LOCK_TIMEOUT)" >&2
      return 1
    fi
    echo "apt-install: another process holds the apt/dpkg lock; waiting for it ($((deadline - SECONDS))s left): $(grep -im1 -E 'lock|process' <<<"$out")" >&2
    sleep 5
  done
}

[ $# -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
apt_get update -qq
apt_get install -y -qq "$@"
