#!/usr/bin/env bash
# Builds pkg/: the npm package `tokenkeeper` (one package for browsers, bundlers and Node >= 20).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# --mode no-install: wasm-pack must use the wasm-bindgen on PATH and download nothing.
# wasm-opt is switched off in Cargo.toml ([package.metadata.wasm-pack]).
wasm-pack build --release --target web --mode no-install --out-dir pkg --out-name tokenkeeper "$@"
node scripts/finish-pkg.mjs pkg
