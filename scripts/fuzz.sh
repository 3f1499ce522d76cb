#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing of the pure core with cargo-fuzz and libFuzzer.
#
# Runs each target of fuzz/ (see fuzz/checks/) for FUZZ_SECONDS (default 40: about four minutes
# in all with the build) and fails if any target finds a crash, a panic or a broken invariant.
# The results table of bench/FUZZING.md is rewritten with the executions and result per target.
# Not part of `make test`: fuzzing is open-ended, and its findings become plain tests instead
# (fuzz/regressions/, replayed by tests/fuzz_regressions.rs).
#
#   FUZZ_SECONDS=600 make fuzz             longer runs
#   FUZZ_TARGETS="machine" make fuzz       some targets only
#   TOKENKEEPER_FUZZ_MUTANT=stale-token    run `machine` against a simulated bug (must fail)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

seconds="${FUZZ_SECONDS:-40}"
read -r -a targets <<<"${FUZZ_TARGETS:-decode reply stored_session tab_message machine}"
results=bench/FUZZING.md
logs=fuzz/target/logs

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (once, about 30 s)"
  cargo install cargo-fuzz --locked
fi

# cargo-fuzz compiles with nightly-only options (-Zsanitizer, sanitizer-coverage passes). The
# stable compiler accepts them with RUSTC_BOOTSTRAP=1, as scripts/build-pkg.sh already relies on.
# --debug-assertions: integer overflow panics too, where the shipped build would silently wrap.
export RUSTC_BOOTSTRAP=1
sanitizer=address
fuzz_flags() { echo "--sanitizer $sanitizer --debug-assertions"; }
mkdir -p "$logs"
# shellcheck disable=SC2046
if ! cargo fuzz build $(fuzz_flags) 2>&1 | tee "$logs/build.log" | tail -3; then
  echo "fuzz: the AddressSanitizer build failed; trying without a sanitizer" >&2
  sanitizer=none
  # shellcheck disable=SC2046
  if ! cargo fuzz build $(fuzz_flags) 2>&1 | tee "$logs/build.log" | tail -3; then
    cat >&2 <<EOF
fuzz: FUZZING DID NOT RUN. cargo-fuzz needs nightly compiler features, and this compiler refused
fuzz: them even with RUSTC_BOOTSTRAP=1 (log: $logs/build.log). Install a nightly toolchain
fuzz: (rustup toolchain install nightly) and run 'cargo +nightly fuzz run <target>' from the
fuzz: repository root. Falling back to replaying the saved inputs (tests/fuzz_regressions.rs).
EOF
    cargo test -p tokenkeeper --test fuzz_regressions
    exit 0
  fi
fi

rows=()
failed=()
total_execs=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/regressions/$target"
  log="$logs/$target.log"
  echo "fuzz: $target for ${seconds}s"
  # The machine harnesses read a whole session from one input: let inputs grow long at once.
  extra=()
  [[ $target == machine || $target == tab_message ]] && extra=(-len_control=0)
  start=$SECONDS
  status=0
  # shellcheck disable=SC2046
  cargo fuzz run $(fuzz_flags) "$target" "$corpus" "fuzz/regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 "${extra[@]}" >"$log" 2>&1 || status=$?
  elapsed=$((SECONDS - start))
  execs=$(awk '/^stat::number_of_executed_units:/ {n=$2} END {print n}' "$log")
  if [[ -z "$execs" ]]; then
    # A crash ends the run before the final stats; the last status line has the count.
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  execs=${execs:-0}
  total_execs=$((total_execs + execs))
  speed=$(awk '/^stat::average_exec_per_sec:/ {n=$2} END {print n}' "$log")
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | sed 's/cov: //; s/ ft: / \/ /')
  corpus_size=$(find "$corpus" -type f | wc -l)
  if [[ $status == 0 ]]; then
    result="pass"
  else
    artifact=$(grep -oE 'fuzz/artifacts/[^ ]+' "$log" | tail -1)
    result="**FAIL** (exit $status${artifact:+, $artifact})"
    failed+=("$target")
    echo "fuzz: $target FAILED; log $log" >&2
    grep -E 'panicked at|invariant broken|ERROR: libFuzzer|SUMMARY' "$log" | head -5 >&2 || true
  fi
  rows+=("| \`$target\` | ${execs} | ${speed:-?} | ${coverage:-?} | ${corpus_size} | ${elapsed} s | ${result} |")
  echo "fuzz: $target: $execs executions in ${elapsed}s, $result"
done

# The results table of bench/FUZZING.md, between its markers (the prose around it is kept).
table=$(
  echo "Run of $(date -u +%F) at $(date -u +%H:%M) UTC: \`FUZZ_SECONDS=$seconds\`, sanitizer \`$sanitizer\`," \
    "debug assertions on, $(rustc --version | cut -d' ' -f1-2), $(cargo fuzz --version)," \
    "$(nproc) cores shared with other work."
  echo
  echo "| target | executions | exec/s | coverage (edges / features) | corpus files | time | result |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Total: $total_execs executions."
)
if [[ -f "$results" ]] && grep -q '<!-- fuzz-results:start -->' "$results"; then
  awk -v table="$table" '
    /<!-- fuzz-results:start -->/ { print; print table; skip = 1; next }
    /<!-- fuzz-results:end -->/ { skip = 0 }
    !skip { print }
  ' "$results" >"$results.tmp" && mv "$results.tmp" "$results"
  echo "fuzz: results written to $results"
else
  echo "$table"
fi

if ((${#failed[@]})); then
  cat >&2 <<EOF
fuzz: FAILED: ${failed[*]}. Logs in $logs/. To keep a finding as a test:
fuzz:   RUSTC_BOOTSTRAP=1 cargo fuzz tmin <target> fuzz/artifacts/<target>/<crash-file>
fuzz:   cp the minimized input to fuzz/regressions/<target>/ (see tests/fuzz_regressions.rs)
EOF
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s each without a finding"
