#!/usr/bin/env bash
# Rebuilds the committed web bundles (web/static) from their sources in
# web/ui, in a scratch copy so the working tree is untouched, and fails when
# the result differs from what is committed: a change to web/ui must come
# with its rebuilt bundles (cd web/ui && npm ci && npm run build). It also
# type-checks web/ui, which esbuild does not.
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/ui" "$scratch/static"
cp -r web/ui/build.mjs web/ui/package.json web/ui/package-lock.json web/ui/tsconfig.json web/ui/src "$scratch/ui/"
(cd "$scratch/ui" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && node build.mjs) ||
  { echo "check-bundles: building web/ui failed"; exit 1; }
(cd "$scratch/ui" && npm run --silent check) || { echo "check-bundles: web/ui does not type-check (npm run check)"; exit 1; }

if ! diff -rq web/static "$scratch/static"; then
  echo "check-bundles: web/static differs from a build of web/ui; rebuild with: cd web/ui && npm ci && npm run build"
  exit 1
fi
echo "check-bundles: web/static matches web/ui"
