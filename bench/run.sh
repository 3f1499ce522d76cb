#!/usr/bin/env bash
# `make bench`: every benchmark, then bench/RESULTS.md with the figures.
#   1. bench/server-load.sh --write   the companion server under wrk ("## Companion server", ~90 s)
#   2. bench/size.sh                  package size per target, variant and feature set (~20 s)
#   3. node bench/speed.mjs           speed in headless Chromium next to jose and jwt-decode (~60 s)
# then rewrites "## Package size", "## Speed in Chromium" and "## Budgets" of bench/RESULTS.md;
# every other section is left alone.
#
#   bench/run.sh                   # everything (expects `make build`: pkg/ and the wasm in target/)
#   bench/run.sh --quick           # speed with fewer runs, no server load: checks that it all works
#   bench/run.sh --no-server-load  # skip step 1
#   bench/run.sh --no-write        # print the sections instead of writing RESULTS.md
# Speed figures depend on the machine's load: the load average is recorded next to each one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

server_load=true
quick=false
write=true
for arg in "$@"; do
  case "$arg" in
    --quick) quick=true; server_load=false ;;
    --no-server-load) server_load=false ;;
    --no-write) write=false ;;
    *) echo "usage: bench/run.sh [--quick] [--no-server-load] [--no-write]" >&2; exit 2 ;;
  esac
done

out="$(mktemp -d /tmp/tokenkeeper-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT
step() { printf '==> bench: %s (load %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)" >&2; }

# The machine and the tools, once, at the start.
node - "$out/meta.json" <<'JS'
const { execSync } = require("node:child_process");
const os = require("node:os");
const sh = (cmd) => { try { return execSync(cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { return null; } };
const version = sh("cargo metadata --no-deps --format-version 1 | node -e 'const m=JSON.parse(require(\"fs\").readFileSync(0,\"utf8\"));console.log(m.packages.find(p=>p.name===\"tokenkeeper\").version)'");
const meta = {
  date: new Date().toISOString(),
  version,
  commit: (sh("git rev-parse --short HEAD") ?? "") + (sh("git status --porcelain --untracked-files=no") ? " + uncommitted changes" : ""),
  rustc: sh("rustc --version"),
  wasmBindgen: sh("wasm-bindgen --version"),
  wasmOpt: sh("node_modules/.bin/wasm-opt --version")?.replace(/^wasm-opt version /, ""),
  node: `Node ${process.version}`,
  nproc: os.cpus().length,
  cpu: os.cpus()[0]?.model.trim(),
  loadAtStart: os.loadavg().map((x) => x.toFixed(2)).join(" "),
};
require("node:fs").writeFileSync(process.argv[2], JSON.stringify(meta, null, 2));
JS

# Speed runs against the release server that server-load builds (opt-level 3); without that step,
# against $TOKENKEEPER_SERVER, else an existing release build, else the debug build.
server_bin="${CARGO_TARGET_DIR:-target}/release/tokenkeeper-server"
if $server_load; then
  step "server load (bench/server-load.sh --write)"
  bench/server-load.sh --write
elif [[ -n "${TOKENKEEPER_SERVER:-}" ]]; then
  server_bin="$TOKENKEEPER_SERVER"
else
  [[ -x "$server_bin" ]] || server_bin="${CARGO_TARGET_DIR:-target}/debug/tokenkeeper-server"
  [[ -x "$server_bin" ]] || cargo build -p tokenkeeper-server --quiet
fi

step "package size (bench/size.sh)"
bench/size.sh --json "$out/size.json" >"$out/size.md"

# The steps before (wrk, the release build, wasm-opt) load both cores, and the 1-minute load
# average falls slowly: without a pause, the speed figures would carry the "busy machine" mark of
# the bench's own doing. Wait until it is at most half the cores, for two minutes at most.
settle() {
  local cores verdict waited=0
  cores="$(nproc)"
  while (( waited < 120 )); do
    verdict="$(awk -v load="$(cut -d' ' -f1 /proc/loadavg)" -v cores="$cores" 'BEGIN { print (load <= cores / 2) ? "ok" : "wait" }')"
    [[ "$verdict" == ok ]] && return 0
    sleep 5
    waited=$((waited + 5))
  done
  echo "bench: the load stayed above $((cores / 2)) for 2 minutes; measuring anyway" >&2
}
$quick || { step "waiting for the load to settle"; settle; }

step "speed in Chromium (bench/speed.mjs)"
speed_args=(--json "$out/speed.json")
$quick && speed_args+=(--quick)
TOKENKEEPER_SERVER="$(realpath "$server_bin")" node bench/speed.mjs "${speed_args[@]}"

step "writing results"
results_args=(--meta "$out/meta.json" --size "$out/size.json" --size-md "$out/size.md" --speed "$out/speed.json")
if $write; then
  node bench/lib/write-results.mjs "${results_args[@]}" --write bench/RESULTS.md
else
  node bench/lib/write-results.mjs "${results_args[@]}"
fi
