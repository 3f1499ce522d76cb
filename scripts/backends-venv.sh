#!/usr/bin/env bash
# Creates the Python venv for the real auth backends of tests/backends/ (simplejwt, flask-jwt-extended,
# fastapi-users) in target/backends-venv and installs tests/backends/requirements.txt, where every
# package, transitive ones included, is pinned with ==.
#
# Idempotent: a stamp file in the venv holds the SHA-256 of the requirements file; while it matches
# (and the venv's Python still runs) the script does nothing, so a warm run takes a fraction of a
# second. When the requirements change, the venv is rebuilt from scratch rather than upgraded in
# place, so that no package from an older list stays behind.
#
# After installing, `pip freeze` must list exactly the pinned set: if pip pulled in anything that
# the file does not pin (a new dependency of a bumped package), the script fails and says what to
# add, instead of letting an unpinned version in.
#
# Environment: PYTHON (default python3) picks the interpreter; it must be 3.10 or newer (Django 5.2
# and fastapi-users 15 need it). Only PyPI is contacted, through pip.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv="target/backends-venv"
requirements="tests/backends/requirements.txt"
stamp="$venv/.requirements-sha256"
python="${PYTHON:-python3}"

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && "$venv/bin/python" -c '' 2>/dev/null; then
  exit 0
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "backends-venv: $python is $("$python" --version 2>&1); Python 3.10 or newer is needed" >&2
  exit 1
fi

echo "==> backends-venv: creating $venv from $requirements"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"

# The installed set must be the pinned set, compared by normalized name (PEP 503) and version.
normalize() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' |
    awk -F'==' '{ name = tolower($1); gsub(/[-_.]+/, "-", name); print name "==" $2 }' | sort
}
if ! diff_out=$(diff <(normalize <"$requirements") <("$venv/bin/pip" freeze --all --exclude pip --exclude setuptools --exclude wheel | normalize)); then
  echo "backends-venv: the venv differs from $requirements ('<' pinned only, '>' installed only):" >&2
  echo "$diff_out" >&2
  echo "backends-venv: pin the '>' lines in $requirements (or remove stale '<' ones) and rerun" >&2
  exit 1
fi

echo "$want" >"$stamp"
echo "==> backends-venv: ready ($("$venv/bin/python" --version), $(grep -c '==' "$requirements") pinned packages)"
