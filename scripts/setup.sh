#!/usr/bin/env bash
# Installs everything `make demo`, `make test` and `make bench` need, from the package registries
# only (crates.io, Debian, npm). Idempotent: each step checks first, so a warm run takes seconds.
# It never downloads a browser or a prebuilt binary from elsewhere, and never installs Debian's
# binaryen (its wasm-opt corrupts wasm-bindgen output).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1

step() { printf '==> setup: %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The version of the wasm-bindgen crate pinned in Cargo.lock; the CLI must match it exactly.
locked_version() {
  awk -v want="$1" '$1 == "name" && $3 == "\"" want "\"" { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The npm package rebuilds the standard library for size (scripts/build-pkg.sh). Without the
# sources it falls back to the prebuilt one, so a failure here is a warning, not a stop.
if ! rustup component list --installed | grep -q '^rust-src'; then
  step "adding the rust-src component"
  rustup component add rust-src ||
    echo "setup: WARNING: no rust-src; the npm package will be built with the prebuilt standard library (about 13 KB gzip larger)" >&2
fi

[ -f Cargo.lock ] || cargo generate-lockfile
bindgen_version=$(locked_version wasm-bindgen)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  step "installing wasm-bindgen-cli $bindgen_version (about 5 minutes)"
  # Without --locked: the CLI's own lock file wants a webpki-roots this registry lacks.
  cargo install wasm-bindgen-cli --version "=$bindgen_version" --force
fi

if [ "$(wasm-pack --version 2>/dev/null)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  step "installing wasm-pack $WASM_PACK_VERSION (about 4 minutes)"
  cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked --force
fi

missing_debs=()
command -v chromium >/dev/null || missing_debs+=(chromium)
command -v chromedriver >/dev/null || missing_debs+=(chromium-driver)
command -v firefox-esr >/dev/null || missing_debs+=(firefox-esr)
# WebKit: WebKitGTK's WebDriver (it brings the engine and MiniBrowser), run under Xvfb.
command -v WebKitWebDriver >/dev/null || missing_debs+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || missing_debs+=(xvfb)
command -v xauth >/dev/null || missing_debs+=(xauth)
# The real Python auth backends of the test suite run in a virtualenv (scripts/backends-venv.sh).
python3 -c 'import ensurepip, venv' 2>/dev/null || missing_debs+=(python3-venv)
if [ ${#missing_debs[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing_debs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  # A dpkg run that stops part-way ("cannot access archive") is completed by `install -f`.
  as_root apt-get install -y -qq "${missing_debs[@]}" || as_root apt-get install -y -qq -f
fi

if [ "$(geckodriver --version 2>/dev/null | head -n1 | awk '{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  step "installing geckodriver $GECKODRIVER_VERSION from crates.io (about 4 minutes)"
  cargo install geckodriver --version "=$GECKODRIVER_VERSION" --locked --force
fi

# npm dev dependencies (playwright-core, jose, ...) exactly as locked; skipped while the lock file
# is unchanged since the last `npm ci`.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.tokenkeeper-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  step "installing npm dev dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.tokenkeeper-lock-hash
fi

if dpkg-query -W -f='${Status}' binaryen 2>/dev/null | grep -q "ok installed"; then
  echo "warning: Debian's binaryen is installed; tokenkeeper never runs its wasm-opt (it corrupts wasm-bindgen output)" >&2
fi
# The Python auth libraries the e2e suite runs against, pinned, from PyPI.
scripts/backends-venv.sh

step "all tools present"
