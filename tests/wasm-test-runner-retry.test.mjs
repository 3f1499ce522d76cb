// Unit tests of scripts/wasm-test-runner-retry.sh, the WebKit suites' test runner: a suite that
// fails is run once more, and fails only if it fails twice; a suite that passes runs once.
//   node --test tests/wasm-test-runner-retry.test.mjs
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../scripts/wasm-test-runner-retry.sh", import.meta.url));

/**
 * Runs the retry script with a stand-in for wasm-bindgen-test-runner that answers each call with
 * the next of `answers` (`[output, exit status]`). Resolves with the script's status, its output
 * and how many times the stand-in was called.
 */
function runWith(answers) {
  const dir = mkdtempSync(join(tmpdir(), "retry-test-"));
  const calls = join(dir, "calls");
  writeFileSync(calls, "");
  const cases = answers
    .map(([output, status], i) => `  ${i + 1}) printf '%s\\n' ${JSON.stringify(output)}; exit ${status} ;;`)
    .join("\n");
  const runner = join(dir, "runner.sh");
  writeFileSync(
    runner,
    `#!/usr/bin/env bash\necho "$1" >> ${JSON.stringify(calls)}\nn=$(wc -l < ${JSON.stringify(calls)})\ncase $n in\n${cases}\n  *) exit 99 ;;\nesac\n`,
  );
  chmodSync(runner, 0o755);
  const run = spawnSync("bash", [script, "/deps/suite-0123.wasm"], {
    env: { ...process.env, WASM_BINDGEN_TEST_RUNNER: runner },
    encoding: "utf8",
  });
  const called = readFileSync(calls, "utf8").trim().split("\n");
  assert.ok(called.every((arg) => arg === "/deps/suite-0123.wasm"), "the suite is passed on");
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, calls: called.length };
}

test("a suite that passes runs once", () => {
  const run = runWith([["test result: ok. 4 passed; 0 failed", 0]]);
  assert.deepEqual([run.status, run.calls], [0, 1]);
  assert.match(run.stdout, /test result: ok/);
});

test("a suite that fails twice fails, and the retry is announced", () => {
  const run = runWith([
    ["test result: FAILED. 3 passed; 1 failed", 1],
    ["test result: FAILED. 3 passed; 1 failed", 1],
  ]);
  assert.deepEqual([run.status, run.calls], [1, 2]);
  assert.match(run.stderr, /suite-0123\.wasm failed in WebKit \(exit 1\); running it once more/);
});

test("a suite that fails once and then passes passes, and says so", () => {
  const run = runWith([
    ["RuntimeError: Out of bounds memory access\ntest result: FAILED. 3 passed; 1 failed", 1],
    ["test result: ok. 4 passed; 0 failed", 0],
  ]);
  assert.deepEqual([run.status, run.calls], [0, 2]);
  assert.match(run.stderr, /passed on its second run; its first failed/);
});

test("a suite the browser never ran is run once more, and that verdict counts", () => {
  const passed = runWith([
    ["Error: webdriver POST /session timed out after 60.0s", 1],
    ["test result: ok. 4 passed; 0 failed", 0],
  ]);
  assert.deepEqual([passed.status, passed.calls], [0, 2]);
  assert.match(passed.stderr, /running it once more/);

  const failed = runWith([
    ["Error: webdriver POST /session timed out after 60.0s", 1],
    ["test result: FAILED. 3 passed; 1 failed", 1],
  ]);
  assert.deepEqual([failed.status, failed.calls], [1, 2]);
});

test("a suite the browser never runs fails after the second try", () => {
  const run = runWith([
    ["Error: driver failed to bind port during startup", 1],
    ["Error: webdriver POST /session timed out after 60.0s", 1],
  ]);
  assert.deepEqual([run.status, run.calls], [1, 2]);
});
