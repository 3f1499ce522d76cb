import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, repoRoot, spawnListening } from "../tests/e2e/harness.mjs";
const staticDir = mkdtempSync(join(tmpdir(), "probe-"));
writeFileSync(join(staticDir, "bench.html"), "<!doctype html><title>p</title>\n");
const server = await spawnListening(join(repoRoot, "target/release/tokenkeeper-server"), ["--addr", "127.0.0.1:0", "--db", ":memory:", "--static-dir", staticDir, "--pkg-dir", join(repoRoot, process.env.PKG || "pkg"), "--test-mode"]);
const browser = await launchChromium();
const rows = [];
for (let run = 0; run < 8; run++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/bench.html`);
  rows.push(await page.evaluate(async ([origin, order]) => {
    const out = {};
    const time = (k, f) => { const t = performance.now(); const r = f(); out[k] = +(performance.now() - t).toFixed(2); return r; };
    const tk = await import("/pkg/tokenkeeper.js"); await tk.default();
    if (order === 0) {
      time("bc", () => new BroadcastChannel("probe"));
      time("ls", () => localStorage.getItem("x"));
      time("ctor mem", () => new tk.AuthClient({ baseUrl: origin, storage: "memory" }));
      time("ctor local", () => new tk.AuthClient({ baseUrl: origin }));
    } else {
      time("ctor local", () => new tk.AuthClient({ baseUrl: origin }));
      time("ctor mem", () => new tk.AuthClient({ baseUrl: origin, storage: "memory" }));
      time("bc", () => new BroadcastChannel("probe"));
      time("ls", () => localStorage.getItem("x"));
    }
    return out;
  }, [server.url, run % 2]));
  await context.close();
}
console.log(rows);
await browser.close(); await server.stop();
