#!/usr/bin/env bash
# Builds pkg/: the npm package `tokenkeeper` (one package for browsers, bundlers and Node >= 20).
set -euo pipefail
cd "$(dirname "$0")/.."
# PKG_OUT: where to write the package (default pkg/; benchmarks compare other builds with it).
out="${PKG_OUT:-pkg}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# --mode no-install: wasm-pack must use the wasm-bindgen on PATH and download nothing.
# wasm-opt is switched off in Cargo.toml ([package.metadata.wasm-pack]).
wasm-pack build --release --target web --mode no-install --out-dir "$out" --out-name tokenkeeper \
  "$@" -- --features talc-allocator
# wasm-pack keeps the name section (a third of the file; it only names functions for debuggers)
# and has no switch for wasm-bindgen's, so wasm-bindgen runs once more on the same module with
# it: same glue, a .wasm without the `name` and `producers` sections (-54 KB gzip, measured in
# bench/SIZE-ANALYSIS.md).
wasm-bindgen --target web --out-dir "$out" --out-name tokenkeeper \
  --remove-name-section --remove-producers-section \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/tokenkeeper.wasm"
node scripts/finish-pkg.mjs "$out"
