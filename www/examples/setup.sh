#!/usr/bin/env bash
# Installs the JavaScript examples (www/examples/vite, react, node) the way an app is
# installed: `npm ci` from each one's committed lock file. Their "tokenkeeper" dependency is a
# `file:` link to pkg/, so this runs after `make build`. Idempotent: an example is skipped while
# its lock file is unchanged since its last `npm ci` and the link is in place (milliseconds).
set -euo pipefail
cd "$(dirname "$0")"
[ -f ../../pkg/package.json ] || { echo "pkg/ is missing: run 'make build' first" >&2; exit 1; }
for app in vite react node; do
  hash=$(sha256sum "$app/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$app/node_modules/.tokenkeeper-lock-hash" 2>/dev/null)" != "$hash" ] ||
     [ ! -f "$app/node_modules/tokenkeeper/package.json" ]; then
    printf '==> examples: npm ci in www/examples/%s\n' "$app"
    (cd "$app" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$hash" > "$app/node_modules/.tokenkeeper-lock-hash"
  fi
done
