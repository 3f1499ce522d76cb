#!/usr/bin/env bash
# Cargo's test runner for one wasm-bindgen-test suite in WebKit (`make test-webkit`): runs
# wasm-bindgen-test-runner, and runs the suite once more if the browser never ran it.
#
# Why: WebKitWebDriver, under load, now and then never answers a new-session request (about once
# in 45 launches; tests/webkit/harness.mjs restarts it for the same reason). The runner then gives
# up after its start-up timeout without a single test having run, and a whole CI run fails on a
# browser that did not start. A suite whose harness printed its "test result:" line ran, so its
# verdict stands, pass or fail: only a run with no such line is retried, and only once, and the
# retry is announced. A suite that hangs on every try still fails.
set -uo pipefail
runner="${WASM_BINDGEN_TEST_RUNNER:-wasm-bindgen-test-runner}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for attempt in 1 2; do
  "$runner" "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  if [[ $status -eq 0 ]] || grep -q "^test result: " "$log"; then
    exit "$status"
  fi
  if [[ $attempt -eq 1 ]]; then
    echo "wasm-test-runner-retry: the browser did not run ${1##*/} (exit $status, no test result);" \
      "running it once more" >&2
  fi
done
exit "$status"
