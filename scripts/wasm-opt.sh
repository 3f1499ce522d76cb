#!/usr/bin/env bash
# wasm-opt.sh IN.wasm OUT.wasm: the package's wasm-opt pass (scripts/build-pkg.sh; bench/size.sh
# measures with the same). npm's binaryen, never Debian's, whose wasm-opt corrupts wasm-bindgen
# output. -O1 with size-first choices: -2.5 KB gzip on the package, mostly by dropping what
# nothing calls (the closure shims wasm-bindgen keeps, unused types) and shorter code; -O2, -O3
# and -Oz inline more and gzip worse (bench/SIZE-ANALYSIS.md, section 13). The target_features
# section only tells wasm-opt which features the module uses.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
wasm_opt="$root/node_modules/.bin/wasm-opt"
[[ -x "$wasm_opt" ]] || { echo "wasm-opt.sh: npm's binaryen is missing: run scripts/setup.sh (npm ci)" >&2; exit 1; }
exec "$wasm_opt" "$1" -O1 --shrink-level=1 --strip-target-features -o "$2"
