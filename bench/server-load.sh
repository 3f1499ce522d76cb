#!/usr/bin/env bash
# Load benchmark of the companion server (www/): GET /auth/me and POST /auth/refresh, driven by
# wrk against 127.0.0.1, reporting requests per second and p99 latency, once with a SQLite file
# (the server's default) and once with an in-memory database (what the e2e harness runs).
#
#   bench/server-load.sh            # run, print a Markdown section
#   bench/server-load.sh --write    # also replace the "## Companion server" section of
#                                   # bench/RESULTS.md (other sections are left alone)
#
# Knobs (environment): DURATION (default 20s per run), CONNECTIONS (32), THREADS (1: wrk shares
# the two cores with the server), DBS ("file memory"), CARGO_TARGET_DIR.
#
# The server is built with `cargo build --release` at opt-level 3: the workspace's release
# profile is tuned for wasm size (opt-level "z"), which is not what a server runs with; the rest
# of that profile (lto, codegen-units = 1, panic = "abort") is kept. It runs with default flags
# (standard profile, argon2id defaults, no test mode).
set -euo pipefail
cd "$(dirname "$0")/.."

write=false
[[ "${1:-}" == "--write" ]] && write=true
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
DBS="${DBS:-file memory}"

# --- the load generator: Debian's wrk, installed once -----------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (apt-get)" >&2
  sudo_=""
  [[ $(id -u) -eq 0 ]] || sudo_="sudo"
  $sudo_ apt-get install -y wrk >/dev/null 2>&1 ||
    { $sudo_ apt-get update >/dev/null && $sudo_ apt-get install -y wrk >/dev/null; }
fi
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

# --- the server --------------------------------------------------------------------------------
echo "building tokenkeeper-server (release, opt-level 3)" >&2
CARGO_PROFILE_RELEASE_OPT_LEVEL=3 cargo build --release -p tokenkeeper-server --quiet
server_bin="${CARGO_TARGET_DIR:-target}/release/tokenkeeper-server"

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p"; }

# run_mode file|memory: starts a server, runs both endpoints, leaves wrk's output in
# $work/<mode>-me.txt and $work/<mode>-refresh.txt.
run_mode() {
  local mode="$1" db_arg url
  db_arg="$work/bench-$mode.db"
  [[ "$mode" == memory ]] && db_arg=":memory:"
  "$server_bin" --addr 127.0.0.1:0 --db "$db_arg" --static-dir "$work" --pkg-dir "$work" \
    >"$work/stdout" 2>"$work/stderr" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
    sleep 0.1
  done
  url="$(sed -n 's/^listening on //p' "$work/stdout")"
  [[ -n "$url" ]] || { echo "the server did not start:" >&2; cat "$work/stderr" >&2; exit 1; }
  echo "[$mode] server at $url" >&2
  login() {
    curl -sf -X POST "$url/auth/login" \
      --data-urlencode "username=user@example.com" --data-urlencode "password=user-password"
  }

  # GET /auth/me: one access token, verified (HS256) and checked against SQLite each time.
  local access
  access="$(login | field access_token)"
  echo "[$mode] wrk: GET /auth/me" >&2
  wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
    -H "Authorization: Bearer $access" "$url/auth/me" >"$work/$mode-me.txt"

  # POST /auth/refresh: one session per connection, every request a real rotation.
  : >"$work/tokens"
  for _ in $(seq 1 "$CONNECTIONS"); do
    printf '%s\n' "$(login | field refresh_token)" >>"$work/tokens"
  done
  [[ $(grep -c '^ey' "$work/tokens") -eq "$CONNECTIONS" ]] ||
    { echo "could not log in $CONNECTIONS times" >&2; exit 1; }
  echo "[$mode] wrk: POST /auth/refresh" >&2
  wrk --latency -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/refresh.lua \
    "$url/auth/refresh" -- "$work/tokens" "$THREADS" >"$work/$mode-refresh.txt"
  stop_server

  # A run with failed requests measures the wrong thing: refuse to report it.
  for f in "$work/$mode-me.txt" "$work/$mode-refresh.txt"; do
    if grep -q 'Non-2xx or 3xx responses' "$f"; then
      echo "some requests failed:" >&2; cat "$f" >&2; exit 1
    fi
  done
}

load="$(cut -d' ' -f1-3 /proc/loadavg)"
for mode in $DBS; do run_mode "$mode"; done

# --- report --------------------------------------------------------------------------------
# wrk prints e.g. "Requests/sec:  12345.67" and, under "Latency Distribution", "99%  2.34ms".
row() {
  local name="$1" db="$2" file="$3" rps p50 p99 total errors
  rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$file")"
  p50="$(awk '$1 == "50%" {print $2}' "$file")"
  p99="$(awk '$1 == "99%" {print $2}' "$file")"
  total="$(awk '/requests in/ {print $1}' "$file")"
  errors="$(awk '/Socket errors/ {sub(/^ *Socket errors: */, ""); print}' "$file")"
  echo "| \`$name\` | $db | $rps | $p50 | $p99 | $total | ${errors:-none} |"
}
label() { [[ "$1" == memory ]] && echo "in memory" || echo "file (WAL)"; }
cpu="$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
wrk_v="$({ wrk --version 2>&1 || true; } | head -1 | awk '{print $2}')"
report="$work/section.md"
{
  echo "## Companion server"
  echo
  echo "Load on the axum server in \`www/\` (\`tokenkeeper-server\`), measured $(date -u +%Y-%m-%d)"
  echo "with \`bench/server-load.sh\`: wrk $wrk_v, $THREADS thread, $CONNECTIONS connections,"
  echo "$DURATION per run, against 127.0.0.1 on the same machine ($cpu, shared by wrk and the"
  echo "server). Release build at opt-level 3, default flags (standard profile); $(rustc --version)."
  echo
  echo "| endpoint | database | requests/s | p50 | p99 | requests | socket errors |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for mode in $DBS; do
    row "GET /auth/me" "$(label "$mode")" "$work/$mode-me.txt"
  done
  for mode in $DBS; do
    row "POST /auth/refresh" "$(label "$mode")" "$work/$mode-refresh.txt"
  done
  echo
  echo "- \`GET /auth/me\`: HS256 verification, then one SQLite query (user + session state)."
  echo "- \`POST /auth/refresh\`: verification, one SQLite transaction (rotate the presented"
  echo "  token, insert its successor), two tokens signed. Each request presents the current"
  echo "  token of its session (\`bench/refresh.lua\`), so every reply is a real rotation; no"
  echo "  request failed (the script refuses to report a run with non-2xx replies)."
  echo "- The two databases run the same code; the file rows pay for writing each rotation to the"
  echo "  write-ahead log (synchronous = NORMAL) and for its checkpoints."
  echo "- Load average when the run started: $load (the machine is shared; rerun for comparisons)."
  echo
  echo "Rerun: \`bench/server-load.sh --write\` (knobs: \`DURATION\`, \`CONNECTIONS\`, \`THREADS\`, \`DBS\`)."
} >"$report"
cat "$report"

if $write; then
  results="bench/RESULTS.md"
  [[ -f "$results" ]] || printf '# Benchmarks\n' >"$results"
  # Replace the section (from its heading to the next "## " heading) or append it.
  awk -v section="$report" '
    BEGIN { while ((getline line < section) > 0) body = body line "\n" }
    /^## / && skipping { skipping = 0; print "" }
    /^## Companion server[[:space:]]*$/ { printf "%s", body; skipping = 1; done = 1; next }
    !skipping { print }
    END { if (!done) { if (NR > 0) print ""; printf "%s", body } }
  ' "$results" >"$work/RESULTS.md"
  cp "$work/RESULTS.md" "$results"
  echo "updated $results" >&2
fi
