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
  const N = 50;
  const spent = {}; const inner = (k, f) => function (...a) { const t = performance.now(); try { return f.apply(this, a); } finally { spent[k] = (spent[k] || 0) + performance.now() - t; } };
  const R = window.Request; const proto = R.prototype;
  if (location.hash !== "#plain") {
  window.Request = new Proxy(R, { construct(t, a) { const s = performance.now(); const r = new t(...a); spent.ctor = (spent.ctor || 0) + performance.now() - s; return r; } });
  const urlGet = Object.getOwnPropertyDescriptor(proto, "url").get; Object.defineProperty(proto, "url", { get: inner("url", urlGet) });
  proto.clone = inner("clone", proto.clone);
  const hGet = Object.getOwnPropertyDescriptor(proto, "headers").get; Object.defineProperty(proto, "headers", { get: inner("headers", hGet) });
  Headers.prototype.set = inner("hset", Headers.prototype.set);
  window.fetch = inner("fetch", window.fetch);
  }
  const variants = {
    raw: () => fetch("/auth/me", { headers: { Authorization: "Bearer " + token } }),
    jsseq: () => { const rq = new Request("/auth/me", {}); const c = rq.clone(); c.headers.set("Authorization", "Bearer " + token); return fetch(c); },
    client: () => client.fetch("/auth/me"),
    newRequest: () => new Request("/auth/me", {}),
    getAccessToken: () => client.getAccessToken(),
    decode: () => tk.decodeClaims(token),
  };
  const acc = {};
  for (let round = 0; round < 40; round++) {
    for (const [name, f] of Object.entries(variants)) {
      const ps = new Array(N);
      const t0 = performance.now();
      for (const k in spent) delete spent[k];
      for (let i = 0; i < N; i++) ps[i] = f();
      const dt = performance.now() - t0;
      for (const k in spent) (acc[name + "." + k] ??= []).push(spent[k] * 1000 / N);
      (acc[name] ??= []).push(dt * 1000 / N);
      for (const p of ps) { const r = await p; if (r instanceof Response) await r.arrayBuffer(); }
    }
  }
  const med = (a) => { a.sort((x, y) => x - y); return +a[a.length >> 1].toFixed(1); };
  return Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, med(a)]));
}, [server.url]);
console.log(out);
await browser.close(); await server.stop();
