#!/usr/bin/env bash
# Runs one of the real Python auth backends on 127.0.0.1:
#   tests/backends/run.sh simplejwt|flask_jwt_extended|fastapi_users
# It prepares a fresh SQLite database (migrations or table creation, then the two test users) and
# then serves until stopped (SIGTERM or SIGINT).
#
# Environment:
#   PORT            port to listen on (default 8000)
#   TK_ACCESS_TTL   access-token lifetime, seconds (default 300)
#   TK_REFRESH_TTL  refresh-token lifetime, seconds (default 3600; fastapi-users has no refresh)
#   TK_DATA_DIR     directory for the database; default: a new temporary one, removed on exit
#   TK_REMOVE_DATA_DIR=1  remove TK_DATA_DIR on exit even though the caller made it
#   TK_SECRET       signing key; default: a random one per run
#   TK_VENV         the venv (default target/backends-venv, made by scripts/backends-venv.sh)
#   TK_PARENT_PID   if set, the server stops once that process has ended
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name="${1:-}"

case "$name" in
  simplejwt | flask_jwt_extended | fastapi_users) ;;
  *)
    echo "usage: $0 simplejwt|flask_jwt_extended|fastapi_users" >&2
    exit 2
    ;;
esac

venv="${TK_VENV:-$root/target/backends-venv}"
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  echo "run.sh: no venv at $venv; run scripts/backends-venv.sh first" >&2
  exit 1
fi

export PORT="${PORT:-8000}"
export TK_ACCESS_TTL="${TK_ACCESS_TTL:-300}"
export TK_REFRESH_TTL="${TK_REFRESH_TTL:-3600}"
export TK_SECRET="${TK_SECRET:-$("$py" -c 'import secrets; print(secrets.token_hex(32))')}"
if [ -z "${TK_DATA_DIR:-}" ]; then
  TK_DATA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tk-backend-$name.XXXXXX")"
  TK_REMOVE_DATA_DIR=1
fi
if [ "${TK_REMOVE_DATA_DIR:-}" = 1 ]; then
  trap 'rm -rf "$TK_DATA_DIR"' EXIT
fi
export TK_DATA_DIR
# Python output unbuffered, so that a caller reading the log sees it as it happens; bytecode
# caches under target/ (git-ignored), not as __pycache__ directories next to the sources.
export PYTHONUNBUFFERED=1
export PYTHONPYCACHEPREFIX="$root/target/backends-pycache"

cd "$here/$name"
case "$name" in
  simplejwt)
    "$py" manage.py migrate --noinput -v 0
    "$py" manage.py seed_users
    server=("$py" manage.py runserver "127.0.0.1:$PORT" --noreload)
    ;;
  flask_jwt_extended)
    # app.py creates the tables and the users itself, then runs Flask's server (threaded).
    server=("$py" app.py)
    ;;
  fastapi_users)
    "$py" seed.py
    server=("$py" main.py)
    ;;
esac

# The server runs as a child rather than through exec, so that the EXIT trap above still removes a
# temporary database. A signal to this script is passed on to the server; the script ends when the
# server has.
"${server[@]}" &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null' TERM INT
# TK_PARENT_PID (set by tests/backends/backends.mjs): stop the server when that process is gone,
# so that a test run killed outright leaves no server behind.
if [ -n "${TK_PARENT_PID:-}" ]; then
  (
    while kill -0 "$TK_PARENT_PID" 2>/dev/null; do sleep 1; done
    kill -TERM "$server_pid"
  ) </dev/null >/dev/null 2>&1 &
  watcher_pid=$!
fi
status=0
wait "$server_pid" || status=$?
# `wait` returns early when a trapped signal arrives: wait again for the server itself to end.
if kill -0 "$server_pid" 2>/dev/null; then
  wait "$server_pid" || status=$?
fi
[ -z "${watcher_pid:-}" ] || kill "$watcher_pid" 2>/dev/null || true
exit "$status"
