import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium, repoRoot, spawnListening } from "../tests/e2e/harness.mjs";
const staticDir = mkdtempSync(join(tmpdir(), "probe-"));
writeFileSync(join(staticDir, "bench.html"), "<!doctype html><title>p</title>\n");
const server = await spawnListening(join(repoRoot, "target/release/tokenkeeper-server"), ["--addr", "127.0.0.1:0", "--db", ":memory:", "--static-dir", staticDir, "--pkg-dir", join(repoRoot, process.env.PKG || "pkg"), "--test-mode"]);
const browser = await launchChromium();
const page = await (await browser.newContext()).newPage();
await page.goto(`${server.url}/bench.html`);
const out = await page.evaluate(async ([origin, mode]) => {
  const tk = await import("/pkg/tokenkeeper.js"); await tk.default();
  const client = new tk.AuthClient({ baseUrl: origin, storage: "memory" });
  await client.login("user", "user-password");
  const token = await client.getAccessToken();
  const enc = new TextEncoder(); const dec = new TextDecoder();
  const urlBytes = enc.encode("/auth/me"); const hdrBytes = enc.encode("Bearer " + token);
  const v = {
    jsLiteral: () => { const r = new Request("/auth/me", {}); const c = r.clone(); c.headers.set("Authorization", "Bearer " + token); return fetch(c); },
    jsDecoded: () => { const r = new Request(dec.decode(urlBytes), {}); const c = r.clone(); c.headers.set("Authorization", dec.decode(hdrBytes)); return fetch(c); },
    raw: () => fetch("/auth/me", { headers: { Authorization: "Bearer " + token } }),
    client: () => client.fetch("/auth/me"),
  };
  const names = Object.keys(v); const times = Object.fromEntries(names.map((n) => [n, []])); const syncs = {};
  for (let i = 0; i < 600; i++) for (let k = 0; k < names.length; k++) {
    const n = names[(i + k) % names.length];
    const t0 = performance.now(); const pr = v[n](); const t1 = performance.now(); const r = await pr; await r.arrayBuffer(); times[n].push(performance.now() - t0); (syncs[n] ??= []).push(t1 - t0);
  }
  const mean = (a) => Math.round(a.reduce((x, y) => x + y, 0) / a.length * 1000);
  const trim = (a) => { a.sort((x, y) => x - y); return mean(a.slice(a.length * 0.1, a.length * 0.9)); };
  return Object.fromEntries(names.map((n) => [n, [mean(times[n]), trim(times[n]), mean(syncs[n])]]));
}, [server.url, process.env.MODE || "none"]);
console.log(out);
await browser.close(); await server.stop();
