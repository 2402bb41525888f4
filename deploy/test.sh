#!/usr/bin/env bash
# Tests the deployment files. Needs Go and the module proxy (or a warm module cache); no Docker,
# no Azure account, no Pulumi CLI.
#   - deploy/docker: the Dockerfile and .dockerignore (BuildKit's parser and linter); the server
#     built with the Dockerfile's own `go build` command, checked static, started as the image
#     would start it and stopped with SIGTERM; the Compose files (compose-go, against the
#     Compose Specification, and only DT_* variables dtbase reads); the Caddyfile, with caddy
#     (installed with apt-get when missing, as root or with passwordless sudo);
#   - the GitHub Actions workflows, with actionlint (and shellcheck, when installed);
#   - deploy/azure: the Pulumi program's unit tests, offline with mocks. A cold build of this
#     module takes about two minutes.
# Usage: deploy/test.sh   (from anywhere; stops at the first failure)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# gocheck DIR [go test flags]: gofmt, vet and test the Go module in DIR.
gocheck() {
  local dir=$1
  shift
  cd "$root/$dir"
  local unformatted
  unformatted=$(gofmt -l .)
  if [ -n "$unformatted" ]; then
    echo "$dir: not gofmt-ed: $unformatted" >&2
    return 1
  fi
  go vet ./...
  go test "$@" ./...
}

# install_caddy installs Debian's (or Ubuntu's) caddy package when caddy is missing, so that
# TestCaddyfile validates the Caddyfile instead of skipping. Without apt-get, root or
# passwordless sudo it only says why the test will skip.
install_caddy() {
  command -v caddy >/dev/null && return 0
  local run=()
  if ! command -v apt-get >/dev/null; then
    echo "caddy is not installed and there is no apt-get: TestCaddyfile will skip" >&2
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      run=(sudo -n)
    else
      echo "caddy is not installed and installing it needs root: TestCaddyfile will skip" >&2
      return 0
    fi
  fi
  echo "== apt-get install caddy"
  if ! apt-cache show caddy >/dev/null 2>&1; then
    "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  fi
  if ! "${run[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends caddy; then
    echo "the caddy package could not be installed: TestCaddyfile will skip" >&2
  fi
}
install_caddy

echo "== deploy/docker: Dockerfile, .dockerignore, smoke test of the binary, compose.yaml, Caddyfile"
# -count=1: one test runs `go list` on the root module, which the test cache cannot see.
(gocheck deploy/docker -count=1)

echo "== actionlint: .github/workflows"
(cd "$root" && go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 -color=false)

echo "== deploy/azure: Pulumi program"
(gocheck deploy/azure)

echo "deploy/test.sh: OK"
