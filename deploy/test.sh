#!/usr/bin/env bash
# Tests the deployment files. Needs Go and the module proxy (or a warm module cache); no Docker,
# no Azure account, no Pulumi CLI.
#   - deploy/docker: the Dockerfile and .dockerignore (BuildKit's parser and linter) and the
#     Compose files (compose-go, against the Compose Specification);
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

echo "== deploy/docker: Dockerfile, .dockerignore, compose.yaml"
# -count=1: one test runs `go list` on the root module, which the test cache cannot see.
(gocheck deploy/docker -count=1)

echo "== actionlint: .github/workflows"
(cd "$root" && go run github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 -color=false)

echo "== deploy/azure: Pulumi program"
(gocheck deploy/azure)

echo "deploy/test.sh: OK"
