import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, repoRoot, spawnListening } from "../tests/e2e/harness.mjs";
const staticDir = mkdtempSync(join(tmpdir(), "probe-"));
writeFileSync(join(staticDir, "bench.html"), "<!doctype html><title>p</title>\n");
const server = await spawnListening(join(repoRoot, "target/release/tokenkeeper-server"), ["--addr", "127.0.0.1:0", "--db", ":memory:", "--static-dir", staticDir, "--pkg-dir", join(repoRoot, "pkg"), "--test-mode"]);
const browser = await launchChromium();
const page = await (await browser.newContext()).newPage();
await page.goto(`${server.url}/bench.html`);
const out = await page.evaluate(async () => {
  const deep = (n, f) => (n === 0 ? f() : deep(n - 1, f));
  const N = 50; const acc = {};
  for (let round = 0; round < 30; round++) for (const depth of [0, 10, 50]) {
    const ps = []; const t0 = performance.now();
    for (let i = 0; i < N; i++) ps.push(deep(depth, () => fetch("/bench.html")));
    (acc[depth] ??= []).push((performance.now() - t0) * 1000 / N);
    for (const p of ps) await (await p).arrayBuffer();
  }
  const med = (a) => { a.sort((x, y) => x - y); return +a[a.length >> 1].toFixed(1); };
  return Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, med(a)]));
});
console.log(out);
await browser.close(); await server.stop();
