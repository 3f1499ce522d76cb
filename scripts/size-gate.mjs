// The size gate of `make test`: the npm package as a browser downloads it (pkg/tokenkeeper_bg.wasm
// + pkg/tokenkeeper.js, each `gzip -9n` on its own, as bench/size.sh measures) must not exceed the
// budget in bench/size-budget.json. Size does not depend on load, so unlike speed it is safe to
// gate in a test. The budget is the size issue's goal, 60 KB, reached on 2026-12-07; until then
// it was the size when last lowered plus 1 KB, so the package could only shrink. It never rises:
//   node scripts/size-gate.mjs --lower      # the size + 1 KB while above the goal, else the goal
// It also checks what the module contains, by the function names of the module the package was
// made from (its path is in pkg/.source-module, written by scripts/build-pkg.sh): no float
// formatting or parsing (core::num::flt2dec, dec2flt) and no serde_json, as the size issue
// requires. Float formatting once stayed in through one error message nobody reads
// (section 14 of bench/SIZE-ANALYSIS.md), and a size figure alone does not say such a thing.
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { readFunctionNames } from "./wasm-names.mjs";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const budgetFile = join(root, "bench", "size-budget.json");
const files = ["pkg/tokenkeeper_bg.wasm", "pkg/tokenkeeper.js"];
const SLACK = 1000; // bytes: 1 KB, as bench/size.sh counts (1 KB = 1000 bytes)

const gzipped = (path) =>
  execFileSync("gzip", ["-9nc"], { input: readFileSync(join(root, path)), maxBuffer: 1 << 28 }).length;
const sizes = Object.fromEntries(files.map((file) => [file, gzipped(file)]));
const total = Object.values(sizes).reduce((a, b) => a + b, 0);
const FORBIDDEN = [
  [/flt2dec|dec2flt/, "float formatting or parsing"],
  [/serde_json/, "serde_json"],
];
let sourceModule;
try {
  sourceModule = readFileSync(join(root, "pkg", ".source-module"), "utf8").trim();
} catch {
  console.error("size-gate: pkg/.source-module is missing (a package from an older build): rebuild with make build");
  process.exit(1);
}
const functionNames = readFunctionNames(readFileSync(sourceModule));
if (functionNames.length === 0) {
  console.error(`size-gate: ${sourceModule} has no function names to check; rebuild with make build`);
  process.exit(1);
}
for (const [pattern, what] of FORBIDDEN) {
  const found = functionNames.filter((name) => pattern.test(name));
  if (found.length > 0) {
    console.error(`size-gate: the package's module contains ${what} (${found.length} functions), e.g.:`);
    for (const name of found.slice(0, 5)) console.error(`  ${name}`);
    process.exit(1);
  }
}

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
const budget = JSON.parse(readFileSync(budgetFile, "utf8"));

if (process.argv.includes("--lower")) {
  if (total + SLACK > budget.budgetGzipBytes) {
    console.error(`size-gate: ${kb(total)} + 1 KB is above the budget ${kb(budget.budgetGzipBytes)}: not raised`);
    process.exit(1);
  }
  budget.budgetGzipBytes = Math.max(total + SLACK, Math.min(budget.goalGzipBytes, budget.budgetGzipBytes));
  budget.measured = { date: new Date().toISOString().slice(0, 10), gzipBytes: total, files: sizes };
  writeFileSync(budgetFile, `${JSON.stringify(budget, null, 2)}\n`);
  console.log(`size-gate: budget lowered to ${kb(budget.budgetGzipBytes)}`);
  process.exit(0);
}

const parts = files.map((file) => `${file} ${kb(sizes[file])}`).join(" + ");
if (total > budget.budgetGzipBytes) {
  console.error(
    `size-gate: the package is ${kb(total)} gzip (${parts}), over its budget of ` +
      `${kb(budget.budgetGzipBytes)} (bench/size-budget.json). Cut it back; the budget only goes down.`,
  );
  process.exit(1);
}
console.log(
  `size-gate: ${kb(total)} gzip (${parts}) within the budget of ${kb(budget.budgetGzipBytes)}; ` +
    `goal ${kb(budget.goalGzipBytes)}, ${kb(Math.max(0, total - budget.goalGzipBytes))} to go`,
);
