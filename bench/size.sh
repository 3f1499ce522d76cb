#!/usr/bin/env bash
# Package size: raw, gzip -9 and brotli of the .wasm and the JS glue,
# - of the npm package as built into pkg/ (what `make build` ships; the budget row);
# - per wasm-bindgen target (web, bundler, nodejs), each with the name section, without it
#   (`--remove-name-section --remove-producers-section`), and without it after the package's
#   wasm-opt pass (scripts/wasm-opt.sh: -O1, shrink level 1)
#   (npm's binaryen, never Debian's);
# - per cargo feature set of the tokenkeeper crate (default, each optional feature on top of the
#   defaults, no default features), target web;
# - the peers that are installed as dev dependencies (jose's decodeJwt, jwt-decode), bundled and
#   minified with rolldown (Vite's bundler) in the same run; the session SDK peers are cited;
# - `tokenkeeper/react` (pkg/react/index.js), minified the same way, on its own.
# Every wasm-opt output is loaded in Node with its glue (web and nodejs targets) and must decode a
# token and construct a client, or the script fails.
#
#   bench/size.sh                 # build (incremental), measure, print Markdown
#   bench/size.sh --no-build      # reuse target/wasm32-unknown-unknown/release/tokenkeeper.wasm
#   bench/size.sh --json FILE     # also write the figures as JSON (bench/run.sh reads it)
#
# Environment: CARGO_TARGET_DIR (where the default build is, as for cargo), BENCH_TARGET_DIR
# (cargo target dir for the non-default feature sets, default target/bench-features, so that the
# default build, which pkg/ comes from, is never overwritten).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

build=true
json_out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-build) build=false ;;
    --json) json_out="$2"; shift ;;
    *) echo "usage: bench/size.sh [--no-build] [--json FILE]" >&2; exit 2 ;;
  esac
  shift
done

command -v wasm-bindgen >/dev/null || { echo "wasm-bindgen is missing: run scripts/setup.sh" >&2; exit 1; }

work="$(mktemp -d /tmp/tokenkeeper-size.XXXXXX)"
trap 'rm -rf "$work"' EXIT
log() { printf '[size] %s\n' "$*" >&2; }

# --- the feature sets --------------------------------------------------------------------------
# "name|cargo flags"; the default set comes from target/ (the same artifact wasm-pack builds).
mapfile -t feature_sets < <(cargo metadata --no-deps --format-version 1 2>/dev/null | node -e '
  const meta = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const pkg = meta.packages.find((p) => p.name === "tokenkeeper");
  const features = pkg.features ?? {};
  const defaults = features.default ?? [];
  const optional = Object.keys(features).filter((f) => f !== "default" && !defaults.includes(f));
  console.log("default|");
  if (defaults.length) console.log("no-default-features|--no-default-features");
  for (const f of optional) console.log(`default+${f}|--features ${f}`);
  if (optional.length > 1) console.log("all-features|--all-features");
')

cargo_wasm() { # cargo_wasm TARGET_DIR FLAGS... -> path of the .wasm
  local dir="$1"; shift
  CARGO_TARGET_DIR="$dir" cargo build --release --target wasm32-unknown-unknown -p tokenkeeper \
    --lib --quiet "$@" >&2
  echo "$dir/wasm32-unknown-unknown/release/tokenkeeper.wasm"
}

# bindgen SRC.wasm OUT_DIR TARGET: the three variants (names, stripped, opt) under OUT_DIR.
bindgen() {
  local src="$1" out="$2" target="$3"
  wasm-bindgen --target "$target" --out-dir "$out/names" --out-name tokenkeeper "$src"
  wasm-bindgen --target "$target" --out-dir "$out/stripped" --out-name tokenkeeper \
    --remove-name-section --remove-producers-section "$src"
  cp -r "$out/stripped" "$out/opt"
  # wasm-opt takes ~10 s: the targets differ in their glue only, so reuse an identical module's.
  local sum cached
  sum="$(sha256sum "$out/stripped/tokenkeeper_bg.wasm" | cut -d' ' -f1)"
  cached="$work/wasm-opt-cache/$sum.wasm"
  if [[ ! -f "$cached" ]]; then
    mkdir -p "$work/wasm-opt-cache"
    "$root/scripts/wasm-opt.sh" "$out/stripped/tokenkeeper_bg.wasm" "$cached"
  fi
  cp "$cached" "$out/opt/tokenkeeper_bg.wasm"
}

for entry in "${feature_sets[@]}"; do
  name="${entry%%|*}"; flags="${entry#*|}"
  mkdir -p "$work/features/$name"
  if [[ "$name" == default ]]; then
    target_dir="${CARGO_TARGET_DIR:-$root/target}"
    src="$target_dir/wasm32-unknown-unknown/release/tokenkeeper.wasm"
    # The package's own features (scripts/build-pkg.sh): no Rust driver, talc.
    if $build; then log "cargo build (release, wasm32, the package's features)"; src="$(cargo_wasm "$target_dir" --no-default-features --features talc-allocator)"; fi
    [[ -f "$src" ]] || { echo "no $src: run make build, or drop --no-build" >&2; exit 1; }
  else
    log "cargo build (release, wasm32, $flags) in ${BENCH_TARGET_DIR:-target/bench-features}"
    # shellcheck disable=SC2086
    src="$(cargo_wasm "${BENCH_TARGET_DIR:-$root/target/bench-features}" $flags)"
  fi
  # Snapshot at once: other builds may replace the file while we measure.
  cp "$src" "$work/features/$name/cargo.wasm"
done

default_wasm="$work/features/default/cargo.wasm"
for target in web bundler nodejs; do
  log "wasm-bindgen --target $target (names / stripped / wasm-opt)"
  bindgen "$default_wasm" "$work/targets/$target" "$target"
done
for entry in "${feature_sets[@]}"; do
  name="${entry%%|*}"
  [[ "$name" == default ]] && continue
  log "wasm-bindgen --target web for feature set $name"
  bindgen "$work/features/$name/cargo.wasm" "$work/features/$name/web" web
done

# --- the optimized modules must still load -----------------------------------------------------
check_dirs=("$work/targets/web/opt" "$work/targets/nodejs/opt")
for entry in "${feature_sets[@]}"; do
  name="${entry%%|*}"
  [[ "$name" == default ]] || check_dirs+=("$work/features/$name/web/opt")
done
log "loading the wasm-opt outputs in Node: ${#check_dirs[@]} module(s)"
node "$root/bench/lib/load-check.mjs" "${check_dirs[@]}" >&2

# --- peers, bundled and minified in this run ----------------------------------------------------
mkdir -p "$work/peers"
peer() { # peer NAME EXPORT MODULE_PATH
  echo "export { $2 } from \"$root/node_modules/$3\";" >"$work/peers/$1.entry.mjs"
  "$root/node_modules/.bin/rolldown" "$work/peers/$1.entry.mjs" -m -f esm -p browser \
    -o "$work/peers/$1.min.js" >/dev/null 2>&1 || rm -f "$work/peers/$1.min.js"
}
if [[ -x "$root/node_modules/.bin/rolldown" ]]; then
  log "bundling peers with rolldown (minified)"
  peer jose-decodeJwt decodeJwt jose/dist/webapi/index.js
  peer jwt-decode jwtDecode jwt-decode/build/esm/index.js
fi

# --- tokenkeeper/react: its own file, minified as an app's bundler would (React and the core
# external); it is not part of the core package's total: apps without React never load it.
if [[ -x "$root/node_modules/.bin/rolldown" && -f "$root/pkg/react/index.js" ]]; then
  log "bundling tokenkeeper/react with rolldown (minified, react and the core external)"
  mkdir -p "$work/react"
  "$root/node_modules/.bin/rolldown" "$root/pkg/react/index.js" -m -f esm -p browser \
    --external react --external ../tokenkeeper.js -o "$work/react/index.min.js" >/dev/null 2>&1 ||
    rm -f "$work/react/index.min.js"
fi

log "measuring"
node "$root/bench/lib/size-report.mjs" "$work" "$root/pkg" "${json_out:-}"
