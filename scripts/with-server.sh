#!/usr/bin/env bash
# Runs a command with the companion server up, for the wasm-bindgen-test browser suites:
# - starts the server on a free 127.0.0.1 port (in-memory database, test mode, short tokens);
# - pins the test runner to another free port (WASM_BINDGEN_TEST_ADDRESS) so the server can
#   allow exactly that origin through CORS;
# - exports TOKENKEEPER_TEST_SERVER (read at build time by tests/browser_client.rs and
#   tests/browser_wake.rs, through tests/common/server.rs; without it they skip, or fail when
#   TOKENKEEPER_REQUIRE_SERVER is set, as the Makefile does);
# - stops the server when the command ends, whatever its outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
server="${TOKENKEEPER_SERVER:-target/debug/tokenkeeper-server}"
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

runner_port=$(free_port)
log=$(mktemp)
"$server" --addr 127.0.0.1:0 --db :memory: --test-mode --access-ttl 3 \
  --cors-origin "http://127.0.0.1:$runner_port" >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  url=$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$log")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "${url:-}" ] || { echo "companion server did not start:" >&2; cat "$log" >&2; exit 1; }

export TOKENKEEPER_TEST_SERVER="$url"
export WASM_BINDGEN_TEST_ADDRESS="127.0.0.1:$runner_port"
"$@"
