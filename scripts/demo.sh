#!/usr/bin/env bash
# Runs the demo: the companion server on 127.0.0.1:8080 serving the demo page and pkg/.
# `make demo` builds both first. Ctrl-C stops it (the server shuts down gracefully).
# DEMO_ADDR overrides the address (the e2e suite uses 127.0.0.1:0 for a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
addr="${DEMO_ADDR:-127.0.0.1:8080}"
echo "tokenkeeper demo: starting the companion server on $addr (Ctrl-C stops it)" >&2
# Short access tokens so automatic refresh is visible within a minute.
exec "${TOKENKEEPER_SERVER:-target/debug/tokenkeeper-server}" \
  --addr "$addr" \
  --static-dir www/static \
  --pkg-dir pkg \
  --access-ttl "${DEMO_ACCESS_TTL:-30}" \
  "$@"
