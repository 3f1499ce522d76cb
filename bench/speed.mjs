// Speed in headless Chromium, side by side with the peers, in one run:
//   1. decoding the same tokens: tokenkeeper `decodeClaims` vs jose `decodeJwt` vs jwt-decode
//      `jwtDecode` (µs per token; the ratio is taken per run, then its median);
//   2. `getAccessToken()` with a fresh token (µs per awaited call), next to an async JS function
//      returning a cached string (the floor any Promise API pays);
//   3. `client.fetch` against a raw `fetch` to the companion server's `GET /auth/me`, same token,
//      body read in both (relative overhead per round, then its median);
//   4. import to constructed client: a fresh browser context per run (nothing cached), time from
//      before `import()` to after `new AuthClient(...)`, split into import / init (fetch +
//      compile + instantiate the .wasm) / constructor; also warm (same context, new page);
//   5. refresh economy: 100 concurrent `getAccessToken()` at expiry, refresh requests counted by
//      the server (`--test-mode`, `/__stats`).
// Every figure is the median over repeated runs with its spread (IQR and min–max), and the load
// average is read before each section: this machine is shared, so compare runs only with the
// load next to them. Nothing here asserts a timing; budgets are judged in bench/RESULTS.md.
//
//   node bench/speed.mjs [--quick] [--json FILE]
// Environment: RUNS (repeated runs per figure; default 15, 5 with --quick), TOKENKEEPER_SERVER
// (server binary; default the debug build `make server` keeps fresh; bench/run.sh passes the
// release build that bench/server-load.sh has just made), PKG_DIR (the package to serve at /pkg/;
// default pkg/: point it at another build to compare), ONLY (comma-separated sections to run:
// decode, getAccessToken, fetch, import, refresh; default all), CHROMIUM.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { launchChromium, repoRoot, spawnListening } from "../tests/e2e/harness.mjs";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : null;
const RUNS = Number(process.env.RUNS ?? (quick ? 5 : 15));
const DECODE_ITERS = quick ? 2_000 : 10_000; // tokens decoded per decoder per run
const GAT_ITERS = quick ? 2_000 : 10_000; // getAccessToken() calls per run
const FETCH_BLOCK = quick ? 20 : 50; // pairs of sequential requests per round (raw and client, alternating)
const IMPORT_RUNS = Number(process.env.IMPORT_RUNS ?? (quick ? 5 : 12));
const EXPIRIES = quick ? 2 : 3; // refresh-economy rounds (each waits for a token to expire)
const CALLERS = 100;
const ONLY = process.env.ONLY ? new Set(process.env.ONLY.split(",")) : null;
const wanted = (section) => !ONLY || ONLY.has(section);

const log = (message) => process.stderr.write(`[speed] ${message}\n`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
const version = (pkg) => JSON.parse(readFileSync(join(repoRoot, "node_modules", pkg, "package.json"), "utf8")).version;

// --- statistics ---------------------------------------------------------------------------------
function quantile(sorted, q) {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    p25: quantile(s, 0.25),
    p75: quantile(s, 0.75),
    min: s[0],
    max: s[s.length - 1],
    runs: values,
  };
}

// --- the server -----------------------------------------------------------------------------------
const serverBinary = process.env.TOKENKEEPER_SERVER ?? join(repoRoot, "target", "debug", "tokenkeeper-server");
const serverKind = /\/release\//.test(serverBinary) ? "release" : /\/debug\//.test(serverBinary) ? "debug" : "custom";
const pkgDir = process.env.PKG_DIR ?? join(repoRoot, "pkg");
if (!existsSync(join(pkgDir, "tokenkeeper_bg.wasm"))) throw new Error(`no package in ${pkgDir}: run make build`);
if (!existsSync(serverBinary)) throw new Error(`no server binary ${serverBinary}: run make server`);

function startServer(extra = []) {
  return spawnListening(serverBinary, [
    "--addr", "127.0.0.1:0",
    "--db", ":memory:",
    "--static-dir", staticDir,
    "--pkg-dir", pkgDir,
    "--test-mode",
    ...extra,
  ]);
}

// --- the tokens (the same set for every decoder) --------------------------------------------------
async function makeTokens(serverToken) {
  const key = new TextEncoder().encode("speed-benchmark-secret-0123456789abcdef");
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
  const small = await sign({ sub: "42", exp: now + 900, iat: now });
  const keycloak = await sign({
    exp: now + 300, iat: now, auth_time: now - 10, jti: "6f1c1d8e-3b7a-4f0e-9d8c-1a2b3c4d5e6f",
    iss: "https://id.example.com/realms/demo", aud: ["account", "api"], sub: "f3b2c1d0-aaaa-bbbb-cccc-0123456789ab",
    typ: "Bearer", azp: "web", sid: "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a", acr: "1",
    realm_access: { roles: ["offline_access", "uma_authorization", "default-roles-demo", "admin"] },
    resource_access: { account: { roles: ["manage-account", "view-profile"] } },
    scope: "openid email profile", email_verified: true, name: "Zoë Müller-Łukasiewicz",
    preferred_username: "zoe", given_name: "Zoë", family_name: "Müller-Łukasiewicz", email: "zoe@example.com",
  });
  const large = await sign({
    sub: "user-1234567890", exp: now + 3600.5, iat: now, nbf: now - 1,
    roles: Array.from({ length: 40 }, (_, i) => `role:${i}:read`),
    permissions: Array.from({ length: 40 }, (_, i) => ({ resource: `res-${i}`, actions: ["read", "write"] })),
    profile: { bio: "ü".repeat(200), tags: ["a", "b", "c"], nested: { deep: { deeper: [1, 2.5, null, true] } } },
  });
  return [
    { name: "companion server (HS256, standard)", token: serverToken },
    { name: "minimal (sub, exp, iat)", token: small },
    { name: "Keycloak-like (roles, unicode)", token: keycloak },
    { name: "large (~6 KB, float exp)", token: large },
  ];
}

// --- the page --------------------------------------------------------------------------------------
// The companion server serves everything the page loads: the package at /pkg/, and a temporary
// static directory with a blank page and the peers' browser builds (copied from node_modules).
// No Playwright routes: routing turns on request interception for the whole context, which adds
// milliseconds to every request (and disables the HTTP cache), so it would distort the fetch and
// import figures. Without COOP/COEP the page is not cross-origin isolated and performance.now()
// ticks in 100 µs steps: every figure times a block of many calls, or tens of milliseconds.
const staticDir = mkdtempSync(join(tmpdir(), "tokenkeeper-speed-"));
writeFileSync(join(staticDir, "bench.html"), "<!doctype html><title>tokenkeeper speed</title>\n");
// The floor of section 4: a one-line module, imported the same way in the same kind of context.
writeFileSync(join(staticDir, "floor.mjs"), "export const floor = 1;\n");
for (const dir of ["jose/dist/webapi", "jwt-decode/build/esm"]) {
  cpSync(join(repoRoot, "node_modules", dir), join(staticDir, "node_modules", dir), { recursive: true });
}
process.on("exit", () => rmSync(staticDir, { recursive: true, force: true }));

async function benchContext(browser) {
  return browser.newContext();
}

async function openBenchPage(context, origin) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${origin}/bench.html`);
  return page;
}

async function loadLibraries(page) {
  return page.evaluate(async () => {
    const tk = await import("/pkg/tokenkeeper.js");
    await tk.default();
    const jose = await import("/node_modules/jose/dist/webapi/index.js");
    const jwtd = await import("/node_modules/jwt-decode/build/esm/index.js");
    window.tk = tk;
    window.decoders = { decodeClaims: tk.decodeClaims, decodeJwt: jose.decodeJwt, jwtDecode: jwtd.jwtDecode };
    // `block` requests each of `raw()` and `viaClient()`, alternating one by one (ABBA), so both
    // sides see the same moments of a busy machine; µs per request of each side.
    window.abba = async (block, clientFirst, raw, viaClient) => {
      const sums = { raw: 0, client: 0 };
      for (let i = 0; i < block; i++) {
        const pair = (i + (clientFirst ? 1 : 0)) % 2 ? ["client", "raw"] : ["raw", "client"];
        for (const which of pair) {
          const t0 = performance.now();
          await (which === "raw" ? raw() : viaClient());
          sums[which] += performance.now() - t0;
        }
      }
      return { raw: (sums.raw * 1000) / block, client: (sums.client * 1000) / block };
    };
    return { crossOriginIsolated: window.crossOriginIsolated, userAgent: navigator.userAgent };
  });
}

// 1. Decoders: one run = every decoder over DECODE_ITERS tokens, in a rotating order.
async function benchDecode(page, tokens) {
  // The decoders must agree on the claims before their speed means anything.
  const agree = await page.evaluate((tokens) => {
    const { decodeClaims, decodeJwt, jwtDecode } = window.decoders;
    return tokens.map(({ token }) => {
      const a = JSON.stringify(decodeClaims(token));
      return a === JSON.stringify(decodeJwt(token)) && a === JSON.stringify(jwtDecode(token));
    });
  }, tokens);
  if (agree.includes(false)) throw new Error(`the decoders disagree on token(s) ${agree.map((ok, i) => (ok ? "" : i)).join(" ")}`);

  const names = ["decodeClaims", "decodeJwt", "jwtDecode"];
  const perToken = { all: Object.fromEntries(names.map((n) => [n, []])) };
  for (const t of tokens) perToken[t.name] = Object.fromEntries(names.map((n) => [n, []]));
  const runOnce = (set, iters, order) =>
    page.evaluate(
      ({ set, iters, order }) => {
        const out = {};
        for (const name of order) {
          const decode = window.decoders[name];
          let sink = 0;
          const t0 = performance.now();
          for (let i = 0; i < iters; i++) sink += decode(set[i % set.length]).exp > 0 ? 1 : 0;
          const t1 = performance.now();
          if (sink !== iters) throw new Error(`${name}: exp missing`);
          out[name] = ((t1 - t0) * 1000) / iters;
        }
        return out;
      },
      { set, iters, order },
    );
  const all = tokens.map((t) => t.token);
  await runOnce(all, DECODE_ITERS, names); // warm-up: JIT tiers, wasm tier-up
  for (let run = 0; run < RUNS; run++) {
    const order = names.map((_, i) => names[(i + run) % names.length]);
    const mixed = await runOnce(all, DECODE_ITERS, order);
    for (const n of names) perToken.all[n].push(mixed[n]);
    for (const t of tokens) {
      const one = await runOnce([t.token], Math.ceil(DECODE_ITERS / tokens.length), order);
      for (const n of names) perToken[t.name][n].push(one[n]);
    }
  }
  const result = {};
  for (const [set, byName] of Object.entries(perToken)) {
    result[set] = Object.fromEntries(names.map((n) => [n, stats(byName[n])]));
    result[set].ratioVsJose = stats(byName.decodeClaims.map((v, i) => v / byName.decodeJwt[i]));
    result[set].ratioVsJwtDecode = stats(byName.decodeClaims.map((v, i) => v / byName.jwtDecode[i]));
  }
  return result;
}

// 2. getAccessToken() with a fresh token.
// A signed-in client in the page (memory storage), shared by sections 2 and 3.
async function signIn(page, origin) {
  await page.evaluate(async (origin) => {
    if (window.client) return;
    window.client = new window.tk.AuthClient({ baseUrl: origin, storage: "memory" });
    await window.client.login("user", "user-password");
  }, origin);
}

async function benchGetAccessToken(page, origin) {
  await signIn(page, origin);
  const runOnce = (iters) =>
    page.evaluate(async (iters) => {
      const client = window.client;
      const cached = await client.getAccessToken();
      if (!cached) throw new Error("no token after login");
      const floor = async () => cached;
      let t0 = performance.now();
      for (let i = 0; i < iters; i++) if ((await client.getAccessToken()) !== cached) throw new Error("token changed");
      const tk = ((performance.now() - t0) * 1000) / iters;
      t0 = performance.now();
      for (let i = 0; i < iters; i++) if ((await floor()) !== cached) throw new Error("?");
      const js = ((performance.now() - t0) * 1000) / iters;
      return { tk, js };
    }, iters);
  await runOnce(GAT_ITERS);
  const tk = [];
  const js = [];
  for (let run = 0; run < RUNS; run++) {
    const r = await runOnce(GAT_ITERS);
    tk.push(r.tk);
    js.push(r.js);
  }
  return { getAccessToken: stats(tk), asyncFloor: stats(js) };
}

// 3. client.fetch vs raw fetch, GET /auth/me with the same token, body read in both.
async function benchFetch(page, origin) {
  await signIn(page, origin);
  const runOnce = (block, clientFirst) =>
    page.evaluate(
      async ({ block, clientFirst }) => {
        const client = window.client;
        const token = await client.getAccessToken();
        const raw = async () => {
          const r = await fetch("/auth/me", { headers: { Authorization: `Bearer ${token}` } });
          if (r.status !== 200) throw new Error(`raw fetch: ${r.status}`);
          await r.arrayBuffer();
        };
        const viaClient = async () => {
          const r = await client.fetch("/auth/me");
          if (r.status !== 200) throw new Error(`client.fetch: ${r.status}`);
          await r.arrayBuffer();
        };
        return window.abba(block, clientFirst, raw, viaClient);
      },
      { block, clientFirst },
    );
  await runOnce(FETCH_BLOCK, false);
  const raw = [];
  const client = [];
  const rounds = RUNS * 2;
  for (let round = 0; round < rounds; round++) {
    const r = await runOnce(FETCH_BLOCK, round % 2 === 1);
    raw.push(r.raw);
    client.push(r.client);
  }
  return {
    raw: stats(raw),
    client: stats(client),
    overhead: stats(client.map((c, i) => c / raw[i] - 1)),
    addedMicros: stats(client.map((c, i) => c - raw[i])),
    block: FETCH_BLOCK,
    rounds,
  };
}

// 3b. DPoP (`dpop: true`, the companion server with `--dpop`): the µs of one proof made with
// the same WebCrypto calls as the driver (src/js/driver/dpop.js: SHA-256 of the token for `ath`,
// an ES256 signature), and client.fetch against a raw fetch that carries such a proof, made with
// the client's own key (read from IndexedDB, where the client keeps it), ABBA as in section 3.
async function benchDpop(browser) {
  const server = await startServer(["--dpop"]);
  const context = await benchContext(browser);
  try {
    const page = await openBenchPage(context, server.url);
    await loadLibraries(page);
    await page.evaluate(async () => {
      window.client = new window.tk.AuthClient({ baseUrl: location.origin, dpop: true });
      await window.client.login("user", "user-password");
      const pair = await new Promise((resolve, reject) => {
        const opening = indexedDB.open("tokenkeeper-dpop");
        opening.onerror = () => reject(opening.error);
        opening.onsuccess = () => {
          const request = opening.result.transaction("keys").objectStore("keys").get("tokenkeeper");
          request.onsuccess = () => resolve(request.result);
        };
      });
      const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
      const b64 = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      const utf8 = (text) => new TextEncoder().encode(text);
      const header = b64(utf8(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } })));
      window.rawProof = async (method, url, token) => {
        const ath = b64(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(token))));
        const claims = { jti: b64(crypto.getRandomValues(new Uint8Array(16))), htm: method, htu: url, iat: Math.floor(Date.now() / 1000), ath };
        const input = `${header}.${b64(utf8(JSON.stringify(claims)))}`;
        const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, utf8(input));
        return `${input}.${b64(new Uint8Array(signature))}`;
      };
    });
    const proofOnce = () =>
      page.evaluate(async (iters) => {
        const token = await window.client.getAccessToken();
        const url = `${location.origin}/auth/me`;
        const t0 = performance.now();
        for (let i = 0; i < iters; i++) await window.rawProof("GET", url, token);
        return ((performance.now() - t0) * 1000) / iters;
      }, FETCH_BLOCK * 4);
    const fetchOnce = (clientFirst) =>
      page.evaluate(
        async ({ block, clientFirst }) => {
          const token = await window.client.getAccessToken();
          const url = `${location.origin}/auth/me`;
          const raw = async () => {
            const proof = await window.rawProof("GET", url, token);
            const r = await fetch("/auth/me", { headers: { Authorization: `DPoP ${token}`, DPoP: proof } });
            if (r.status !== 200) throw new Error(`raw fetch with a proof: ${r.status}`);
            await r.arrayBuffer();
          };
          const viaClient = async () => {
            const r = await window.client.fetch("/auth/me");
            if (r.status !== 200) throw new Error(`client.fetch with DPoP: ${r.status}`);
            await r.arrayBuffer();
          };
          return window.abba(block, clientFirst, raw, viaClient);
        },
        { block: FETCH_BLOCK, clientFirst },
      );
    await proofOnce();
    await fetchOnce(false);
    const proof = [];
    const raw = [];
    const client = [];
    for (let round = 0; round < RUNS; round++) {
      proof.push(await proofOnce());
      const r = await fetchOnce(round % 2 === 1);
      raw.push(r.raw);
      client.push(r.client);
    }
    if (page.errors.length) throw new Error(`page errors: ${page.errors.join("; ")}`);
    return {
      proofMicros: stats(proof),
      raw: stats(raw),
      client: stats(client),
      overhead: stats(client.map((c, i) => c / raw[i] - 1)),
      addedMicros: stats(client.map((c, i) => c - raw[i])),
      block: FETCH_BLOCK,
      rounds: RUNS,
    };
  } finally {
    await context.close();
    await server.stop();
  }
}

// 4. Import to constructed client.
async function benchImport(browser, origin) {
  const once = async (page) =>
    page.evaluate(async (origin) => {
      const t0 = performance.now();
      const tk = await import("/pkg/tokenkeeper.js");
      const t1 = performance.now();
      await tk.default();
      const t2 = performance.now();
      const client = new tk.AuthClient({ baseUrl: origin });
      const t3 = performance.now();
      client.dispose();
      return { total: t3 - t0, import: t1 - t0, init: t2 - t1, construct: t3 - t2 };
    }, origin);
  // What any module costs here: importing a one-line module in a fresh context (this machine's
  // module loader, not the package). Runs alternate with the package's, so both see the same load.
  const floorOnce = (page) =>
    page.evaluate(async () => {
      const t0 = performance.now();
      await import("/floor.mjs");
      return performance.now() - t0;
    });
  const cold = [];
  const warm = [];
  const floor = [];
  for (let run = 0; run < IMPORT_RUNS; run++) {
    const context = await benchContext(browser);
    try {
      const page = await openBenchPage(context, origin);
      cold.push(await once(page));
      await page.close();
      const again = await openBenchPage(context, origin);
      warm.push(await once(again));
    } finally {
      await context.close();
    }
    const floorContext = await benchContext(browser);
    try {
      floor.push(await floorOnce(await openBenchPage(floorContext, origin)));
    } finally {
      await floorContext.close();
    }
  }
  const split = (list) => Object.fromEntries(["total", "import", "init", "construct"].map((k) => [k, stats(list.map((r) => r[k]))]));
  return { cold: split(cold), warm: split(warm), floorImport: stats(floor), runs: IMPORT_RUNS };
}

// 5. Refresh economy: 100 concurrent getAccessToken() at expiry.
async function benchRefreshEconomy(browser) {
  const server = await startServer(["--access-ttl", "2", "--refresh-ttl", "120"]);
  const context = await benchContext(browser);
  try {
    const page = await openBenchPage(context, server.url);
    await page.evaluate(async (origin) => {
      const tk = await import("/pkg/tokenkeeper.js");
      await tk.default();
      window.client = new tk.AuthClient({ baseUrl: origin, storage: "memory", autoRefresh: false });
      await window.client.login("user", "user-password");
    }, server.url);
    const refreshCount = async () => {
      const stats = await (await fetch(`${server.url}/__stats`)).json();
      return stats.routes["POST /auth/refresh"]?.count ?? 0;
    };
    const rounds = [];
    for (let i = 0; i < EXPIRIES; i++) {
      const before = await refreshCount();
      const r = await page.evaluate(async (callers) => {
        const client = window.client;
        const old = client.session().accessToken;
        const wait = client.expiresAt() - Date.now() + 50; // just past exp
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const t0 = performance.now();
        const tokens = await Promise.all(Array.from({ length: callers }, () => client.getAccessToken()));
        const ms = performance.now() - t0;
        const distinct = new Set(tokens);
        return { ms, distinct: distinct.size, renewed: !distinct.has(old) && !distinct.has(null) };
      }, CALLERS);
      const after = await refreshCount();
      rounds.push({ ...r, refreshRequests: after - before });
    }
    return { callers: CALLERS, rounds, pageErrors: page.errors };
  } finally {
    await context.close();
    await server.stop();
  }
}

// --- main -------------------------------------------------------------------------------------------
const started = new Date();
const result = {
  date: started.toISOString(),
  quick,
  runs: RUNS,
  machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? "unknown", loadAtStart: load() },
  versions: { node: process.version, jose: version("jose"), jwtDecode: version("jwt-decode"), playwrightCore: version("playwright-core") },
  server: { binary: serverBinary.replace(repoRoot, ""), kind: serverKind },
  pkg: { dir: pkgDir.replace(repoRoot, ""), wasmBytes: statSync(join(pkgDir, "tokenkeeper_bg.wasm")).size },
  sections: {},
};

log(`server: ${serverBinary} (${serverKind}); runs ${RUNS}; load ${load()}`);
const browser = await launchChromium();
const server = await startServer();
try {
  result.versions.chromium = browser.version();
  const login = await fetch(`${server.url}/auth/login`, {
    method: "POST",
    body: new URLSearchParams({ username: "user", password: "user-password" }),
  });
  const serverToken = (await login.json()).access_token;
  const tokens = await makeTokens(serverToken);
  result.tokens = tokens.map((t) => ({ name: t.name, bytes: t.token.length }));

  const context = await benchContext(browser);
  const page = await openBenchPage(context, server.url);
  result.page = await loadLibraries(page);

  let l = load();
  if (wanted("decode")) {
    log(`decode (load ${l})`);
    result.sections.decode = { load: l, iterations: DECODE_ITERS, ...(await benchDecode(page, tokens)) };
  }
  if (wanted("getAccessToken")) {
    l = load();
    log(`getAccessToken (load ${l})`);
    result.sections.getAccessToken = { load: l, iterations: GAT_ITERS, ...(await benchGetAccessToken(page, server.url)) };
  }
  if (wanted("fetch")) {
    l = load();
    log(`client.fetch vs fetch (load ${l})`);
    result.sections.fetch = { load: l, ...(await benchFetch(page, server.url)) };
  }
  if (page.errors.length) throw new Error(`page errors: ${page.errors.join("; ")}`);
  await context.close();

  if (wanted("dpop")) {
    l = load();
    log(`DPoP proofs and client.fetch (load ${l})`);
    result.sections.dpop = { load: l, ...(await benchDpop(browser)) };
  }
  if (wanted("import")) {
    l = load();
    log(`import to client (load ${l})`);
    result.sections.import = { load: l, ...(await benchImport(browser, server.url)) };
  }
  if (wanted("refresh")) {
    l = load();
    log(`refresh economy (load ${l})`);
    result.sections.refresh = { load: l, ...(await benchRefreshEconomy(browser)) };
  }
} finally {
  await browser.close();
  await server.stop();
}
result.seconds = (Date.now() - started.getTime()) / 1000;
log(`done in ${result.seconds.toFixed(0)} s`);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + "\n");
else console.log(JSON.stringify(result, null, 2));
