#!/usr/bin/env bash
# Builds pkg/: the npm package `tokenkeeper` (one package for browsers, bundlers and Node >= 20).
set -euo pipefail
cd "$(dirname "$0")/.."
# PKG_OUT: where to write the package (default pkg/; benchmarks compare other builds with it).
out="${PKG_OUT:-pkg}"
# TOKENKEEPER_STD_BUILD=0 builds with the prebuilt standard library instead (see below).
std_build="${TOKENKEEPER_STD_BUILD:-1}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# The standard library rebuilt for the package: with panics that abort at once (no message is
# formatted: none could be shown, as wasm32-unknown-unknown has no stderr), no panic locations,
# and std's size-over-speed code paths: -13.6 KB gzip of .wasm in all (bench/SIZE-ANALYSIS.md,
# section 8). These are unstable compiler options; the stable compiler accepts them with
# RUSTC_BOOTSTRAP=1, as the Linux kernel's Rust build does, so no second toolchain is needed,
# only the `rust-src` component (scripts/setup.sh). The flags change the build of every crate,
# so it has its own target directory: the other builds (tests, the size benchmark) keep theirs.
# RUSTC_BOOTSTRAP also makes the compiler default to v0 symbol names, which wasm-bindgen turns
# into long export names in the module and the glue: legacy mangling keeps them short hashes
# (-0.6 KB gzip). `-Zfmt-debug=none` makes every `{:?}` write nothing and drops the `Debug`
# code with it (-3.5 KB gzip, bench/SIZE-ANALYSIS.md, section 13): nothing the package shows
# comes from `Debug` (its messages are static text, src/logic/error.rs), only the errors of
# serde-wasm-bindgen that the core discards, such as the `{:?}` of a JS value it cannot read.
# Two more, measured on the package (section 13): without the reference-types feature the glue
# keeps JS values in an array instead of a wasm externref table (-0.7 KB gzip: the module's
# table code goes, the glue grows by 0.2 KB), and LLVM inlines less than opt-level "z" alone
# asks (-0.3 KB; thresholds of 8 to 10 measured best, 0 and 20 worse).
std_flags=(-Z build-std=std,panic_abort -Z build-std-features=optimize_for_size)
std_rustflags="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Csymbol-mangling-version=legacy"
std_rustflags+=" -Ctarget-feature=-reference-types -Cllvm-args=-inline-threshold=10"

build() {
  # --mode no-install: wasm-pack must use the wasm-bindgen on PATH and download nothing.
  # wasm-opt is switched off in Cargo.toml ([package.metadata.wasm-pack]).
  # --no-default-features: without the Rust driver (feature `driver`); the package's driver is
  # JavaScript (src/js/driver/) around the core's `Core` class (src/js/core.rs).
  wasm-pack build --release --target web --mode no-install --out-dir "$out" \
    --out-name tokenkeeper -- --no-default-features --features talc-allocator "$@"
}

target_dir="${CARGO_TARGET_DIR:-target}"
std_note="prebuilt (TOKENKEEPER_STD_BUILD=0)"
if [[ "$std_build" == 1 ]]; then
  target_dir="${CARGO_TARGET_DIR:-target}/pkg-std"
  std_note="rebuilt for size (build-std, immediate-abort panics, no panic locations, no Debug output, no reference types)"
  if ! CARGO_TARGET_DIR="$target_dir" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$std_rustflags" \
    build "${std_flags[@]}"; then
    # A later compiler may rename these options: the package then ships larger, never broken.
    echo "build-pkg: WARNING: the size-optimized standard library did not build (see above);" \
      "building with the prebuilt one (about 13 KB gzip larger)" >&2
    target_dir="${CARGO_TARGET_DIR:-target}"
    std_note="prebuilt (the size-optimized build failed)"
    build
  fi
else
  build
fi
# wasm-pack keeps the name section (a third of the file; it only names functions for debuggers)
# and has no switch for wasm-bindgen's, so wasm-bindgen runs once more on the same module with
# it: same glue, a .wasm without the `name` and `producers` sections (-54 KB gzip, measured in
# bench/SIZE-ANALYSIS.md).
wasm-bindgen --target web --out-dir "$out" --out-name tokenkeeper \
  --remove-name-section --remove-producers-section \
  "$target_dir/wasm32-unknown-unknown/release/tokenkeeper.wasm"
# wasm-opt at -O1, size first (scripts/wasm-opt.sh says why): -2.5 KB gzip.
scripts/wasm-opt.sh "$out/tokenkeeper_bg.wasm" "$out/tokenkeeper_bg.wasm"
node scripts/finish-pkg.mjs "$out"
# For bench/size.sh; not part of the published files (package.json lists them).
echo "$std_note" >"$out/.std-build"
# For the size gate (scripts/size-gate.mjs), which reads the function names this module still has.
source_module="$target_dir/wasm32-unknown-unknown/release/tokenkeeper.wasm"
[[ "$source_module" == /* ]] || source_module="$PWD/$source_module"
echo "$source_module" >"$out/.source-module"
