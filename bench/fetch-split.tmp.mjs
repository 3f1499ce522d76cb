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
const out = await page.evaluate(async ([origin]) => {
  const tk = await import("/pkg/tokenkeeper.js"); await tk.default();
  const client = new tk.AuthClient({ baseUrl: origin, storage: "memory" });
  await client.login("user", "user-password");
  const token = await client.getAccessToken();
  const marks = {};
  const OrigRequest = window.Request; const origFetch = window.fetch;
  const origClone = OrigRequest.prototype.clone;
  window.Request = class extends OrigRequest { constructor(a, b) { marks.reqIn = performance.now(); super(a, b); marks.reqOut = performance.now(); } };
  OrigRequest.prototype.clone = function () { marks.cloneIn = performance.now(); const c = origClone.call(this); marks.cloneOut = performance.now(); return c; };
  window.fetch = function (r, i) { marks.fetchIn = performance.now(); const p = origFetch.call(this, r, i); marks.fetchOut = performance.now(); return p; };
  const acc = {};
  const add = (k, v) => (acc[k] ??= []).push(v);
  for (let i = 0; i < 600; i++) {
    const t0 = performance.now(); const pr = client.fetch("/auth/me"); const t1 = performance.now();
    add("entry→Request", marks.reqIn - t0); add("Request ctor", marks.reqOut - marks.reqIn);
    add("Request→clone", marks.cloneIn - marks.reqOut); add("clone", marks.cloneOut - marks.cloneIn);
    add("clone→fetch", marks.fetchIn - marks.cloneOut); add("fetch sync", marks.fetchOut - marks.fetchIn);
    add("fetch→return", t1 - marks.fetchOut); add("total sync", t1 - t0);
    const r = await pr; await r.arrayBuffer();
    const u0 = performance.now(); const raw = fetch("/auth/me", { headers: { Authorization: "Bearer " + token } }); add("raw sync", performance.now() - u0); await (await raw).arrayBuffer();
    const v0 = performance.now(); const rq = new Request("/auth/me"); const c = rq.clone(); c.headers.set("Authorization", "Bearer " + token); const js = fetch(c); add("js seq sync", performance.now() - v0); await (await js).arrayBuffer();
  }
  const med = (a) => { a.sort((x, y) => x - y); return Math.round(a[a.length >> 1] * 1000); };
  const mean = (a) => Math.round(a.reduce((x, y) => x + y, 0) / a.length * 1000);
  return Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, [mean(a), med(a)]]));
}, [server.url]);
console.log(out);
await browser.close(); await server.stop();
