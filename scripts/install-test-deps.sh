#!/usr/bin/env bash
# Installs, from Debian's packages, the programs the test suite drives:
# mosquitto (MQTT broker), chromium (browser tests), aiosmtpd (the SMTP
# server of the e-mail tests), pytest and requests (Python SDK tests). Does nothing when they are all present; waits for
# another apt or dpkg run to finish (see apt-install.sh).
set -euo pipefail
need=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v chromium >/dev/null || need+=(chromium)
/usr/bin/python3 -c 'import pytest' 2>/dev/null || need+=(python3-pytest)
/usr/bin/python3 -c 'import requests' 2>/dev/null || need+=(python3-requests)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing test dependencies: ${need[*]}"
"$(dirname "$0")/apt-install.sh" "${need[@]}"
