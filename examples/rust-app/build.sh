#!/usr/bin/env bash
# Builds the Rust example into examples/rust-app/web/wasm/ (gitignored): the crate for
# wasm32-unknown-unknown, then `wasm-bindgen --target web` (the CLI that scripts/setup.sh installs
# at the version in Cargo.lock). PROFILE=release for a small, optimised build; the default debug
# build is what `make test` uses, because it compiles fastest.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
profile="${PROFILE:-debug}"
flags=()
[ "$profile" = release ] && flags+=(--release)
cargo build -p tokenkeeper-rust-app --target wasm32-unknown-unknown ${flags[@]+"${flags[@]}"}
wasm-bindgen --target web --no-typescript \
  --out-dir examples/rust-app/web/wasm \
  "target/wasm32-unknown-unknown/$profile/tokenkeeper_rust_app.wasm"
echo "built examples/rust-app/web/wasm/ ($profile)"
