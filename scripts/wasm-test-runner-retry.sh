#!/usr/bin/env bash
# Cargo's test runner for one wasm-bindgen-test suite in WebKit (`make test-webkit`): runs
# wasm-bindgen-test-runner, and runs a suite that failed once more, saying so.
#
# Why: WebKit fails now and then for reasons of its own, not of the code under test:
# - WebKitWebDriver, under load, sometimes never answers a new-session request (about once in 45
#   launches; tests/webkit/harness.mjs restarts it for the same reason): no test runs at all;
# - WebKitGTK 2.50's JavaScriptCore sometimes traps with "Out of bounds memory access", or
#   computes a wrong result, in safe Rust that passes in every run in Chromium and Firefox: in
#   tests/browser.rs's decode_fast_path_agrees_with_rust, about 1 run in 10 to 20 (measured
#   2026-12-07: 4 of 40, 2 of 40 with the fast path left out, 1 of 40 with base64ct's
#   decode_vec instead of decode_in_place, and 0 of 40 before that; bench/SIZE-ANALYSIS.md, section 14).
# A failure that is the code's fails the second run too, and the suite fails. A suite that passes
# only on its second run is reported on stderr with its first run's output above it, so the
# engine's rate of such failures stays visible.
set -uo pipefail
runner="${WASM_BINDGEN_TEST_RUNNER:-wasm-bindgen-test-runner}"

"$runner" "$@" && exit 0
status=$?
echo "wasm-test-runner-retry: ${1##*/} failed in WebKit (exit $status); running it once more" >&2
"$runner" "$@"
status=$?
if [[ $status -eq 0 ]]; then
  echo "wasm-test-runner-retry: ${1##*/} passed on its second run; its first failed (output above)" >&2
fi
exit "$status"
