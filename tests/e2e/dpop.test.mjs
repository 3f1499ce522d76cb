// DPoP (RFC 9449, option `dpop: true`) end to end: Chromium logs in against the companion server
// run with `--dpop` (and `--dpop-nonce`), and Node plays the attacker who stole the tokens.
//
// - the session is DPoP-bound (`cnf.jkt` = the key's thumbprint), and `client.fetch` and `me()`
//   send `Authorization: DPoP` with a fresh proof, the 401 replay too;
// - a stolen access token is refused as `Bearer`, and as `DPoP` with the attacker's own key; a
//   stolen refresh token is refused with another key; a captured proof cannot be replayed;
// - with rotating nonces the client recovers with exactly one retry per new nonce;
// - five tabs share the key and still refresh once per cycle; a reload keeps the key; logout
//   deletes it, and the next login has a new one;
// - a page clock 10 minutes off still passes the server's `iat` window;
// - without IndexedDB the constructor throws `config`: no silent fallback to bearer tokens.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  armFault,
  diagnostics,
  getStats,
  jwtClaims,
  loginOk,
  openTabs,
  resetServer,
  route,
  startTestServer,
  waitForEvent,
} from "./client-helpers.mjs";

let browser;
let dpop; // --dpop
let nonces; // --dpop --dpop-nonce

before(async () => {
  [browser, dpop, nonces] = await Promise.all([
    launchChromium(),
    startTestServer(["--dpop", "--access-ttl", "4", "--refresh-ttl", "300"]),
    startTestServer(["--dpop", "--dpop-nonce"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), dpop?.stop(), nonces?.stop()]);
});

/** Records each request's method, path, `Authorization` and `DPoP` headers in `page`. */
function recordProofs(page) {
  const log = [];
  const pending = [];
  page.on("request", (request) => {
    const entry = { method: request.method(), path: new URL(request.url()).pathname };
    log.push(entry);
    pending.push(
      request.allHeaders().then((headers) => {
        entry.authorization = headers.authorization ?? null;
        entry.dpop = headers.dpop ?? null;
      }),
    );
  });
  log.settled = () => Promise.all(pending);
  return log;
}

/** The attacker's side, in Node: an ES256 key of its own and proofs signed with it. */
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
async function attackerProof(method, url, accessToken) {
  const { subtle } = globalThis.crypto;
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const { kty, crv, x, y } = await subtle.exportKey("jwk", pair.publicKey);
  const claims = { jti: crypto.randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000) };
  if (accessToken) claims.ath = b64url(await subtle.digest("SHA-256", Buffer.from(accessToken)));
  const header = { typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, Buffer.from(input));
  return `${input}.${b64url(signature)}`;
}

/** `client.fetch(path)` in the page: its status and JSON body. */
const fetchInPage = (page, path) =>
  page.evaluate(async (path) => {
    const response = await window.client.fetch(path);
    return { status: response.status, body: await response.json().catch(() => null) };
  }, path);

test("dpop: a bound session; fetch and me() send DPoP proofs; a thief gets 401 with or without a key of its own", async (t) => {
  await resetServer(dpop.url);
  const { pages } = await openTabs(t, browser, dpop.url, 1, { dpop: true });
  const [page] = pages;
  const proofs = recordProofs(page);
  const session = await loginOk(page, "user", "user-password");
  const claims = jwtClaims(session.accessToken);
  const { dpop: state } = await diagnostics(page);
  assert.deepEqual(state, { bound: true, thumbprint: claims.cnf?.jkt }, "bound to the page's key");

  const fetched = await fetchInPage(page, "/auth/me");
  assert.equal(fetched.status, 200);
  assert.equal(fetched.body.username, "user");
  const me = await page.evaluate(() => window.client.me());
  assert.equal(me.username, "user");
  await proofs.settled();
  const login = proofs.find((r) => r.path === "/auth/login");
  assert.ok(login.dpop, "the login carries a proof");
  const mes = proofs.filter((r) => r.path === "/auth/me");
  assert.equal(mes.length, 2);
  for (const request of mes) {
    assert.equal(request.authorization, `DPoP ${session.accessToken}`);
    assert.ok(request.dpop, "with a proof");
  }
  assert.notEqual(mes[0].dpop, mes[1].dpop, "a fresh proof per request");
  const diag = JSON.stringify(await diagnostics(page));
  assert.ok(!diag.includes('"d"') && !diag.includes("privateKey"), "the key never shows");

  // Node, with the stolen access token.
  const url = `${dpop.url}/auth/me`;
  const asBearer = await fetch(url, { headers: { authorization: `Bearer ${session.accessToken}` } });
  assert.equal(asBearer.status, 401, "a bound token is no bearer token");
  const ownKey = await fetch(url, {
    headers: { authorization: `DPoP ${session.accessToken}`, dpop: await attackerProof("GET", url, session.accessToken) },
  });
  assert.equal(ownKey.status, 401, "another key's proof does not match cnf.jkt");
  // A proof the page sent, replayed with its token: same jti.
  const replayed = await fetch(url, { headers: { authorization: mes[0].authorization, dpop: mes[0].dpop } });
  assert.equal(replayed.status, 401, "a proof is good once");

  // The stolen refresh token, with the thief's key.
  const refreshUrl = `${dpop.url}/auth/refresh`;
  const stolen = await fetch(refreshUrl, {
    method: "POST",
    headers: { "content-type": "application/json", dpop: await attackerProof("POST", refreshUrl) },
    body: JSON.stringify({ refresh_token: session.refreshToken }),
  });
  assert.ok([400, 401].includes(stolen.status), `refresh with another key: ${stolen.status}`);
  // ... while the page's own refresh still works.
  const refreshed = await page.evaluate(() => window.client.refresh().then((s) => s.accessToken));
  assert.notEqual(refreshed, session.accessToken);
});

test("dpop: a 401 is answered by one refresh and one replay, each with a fresh proof", async (t) => {
  await resetServer(dpop.url);
  const { pages } = await openTabs(t, browser, dpop.url, 1, { dpop: true, autoRefresh: false });
  const [page] = pages;
  const proofs = recordProofs(page);
  const session = await loginOk(page, "user", "user-password");
  await armFault(dpop.url, { endpoint: "me", status: 401 });
  assert.equal((await fetchInPage(page, "/auth/me")).status, 200, "replayed after the refresh");
  await proofs.settled();
  const mes = proofs.filter((r) => r.path === "/auth/me");
  assert.equal(mes.length, 2, "the refused request and its replay");
  const refresh = proofs.filter((r) => r.path === "/auth/refresh");
  assert.equal(refresh.length, 1);
  assert.ok(refresh[0].dpop, "the refresh carries a proof");
  assert.equal(mes[0].authorization, `DPoP ${session.accessToken}`);
  assert.notEqual(mes[1].authorization, mes[0].authorization, "the replay carries the new token");
  assert.ok(mes[1].authorization.startsWith("DPoP "));
  assert.ok(mes[0].dpop && mes[1].dpop && mes[0].dpop !== mes[1].dpop, "a fresh proof for the replay");
});

test("dpop: with rotating nonces, exactly one retry per new nonce", async (t) => {
  await resetServer(nonces.url);
  const { pages } = await openTabs(t, browser, nonces.url, 1, { dpop: true });
  const [page] = pages;
  const proofs = recordProofs(page);
  await loginOk(page, "user", "user-password");
  await proofs.settled();
  const logins = proofs.filter((r) => r.path === "/auth/login");
  assert.equal(logins.length, 2, "the first login learns the nonce, the second uses it");
  assert.equal((await fetchInPage(page, "/auth/me")).status, 200);
  await proofs.settled();
  assert.equal(proofs.filter((r) => r.path === "/auth/me").length, 1, "the nonce in hand is good: no retry");
  // The server replaces its nonce (test mode: every earlier one is stale at once).
  const rotated = await fetch(`${nonces.url}/__dpop-nonce`, { method: "POST" });
  assert.equal(rotated.status, 200);
  assert.equal((await fetchInPage(page, "/auth/me")).status, 200);
  await proofs.settled();
  assert.equal(proofs.filter((r) => r.path === "/auth/me").length, 3, "one retry for the new nonce");
  const stats = await getStats(nonces.url);
  assert.equal(route(stats, "GET /auth/me").count, 3);
});

test("dpop: five tabs share the key and refresh once per cycle", async (t) => {
  await resetServer(dpop.url);
  const { pages } = await openTabs(t, browser, dpop.url, 5, { dpop: true });
  await loginOk(pages[0], "user", "user-password");
  for (const page of pages.slice(1)) await waitForEvent(page, "SIGNED_IN");
  // Every tab uses its token (a proof each), so every tab has loaded the key.
  for (const page of pages) assert.equal((await fetchInPage(page, "/auth/me")).status, 200);
  const thumbprints = new Set();
  for (const page of pages) thumbprints.add((await diagnostics(page)).dpop.thumbprint);
  assert.equal(thumbprints.size, 1, "one key for the five tabs");
  // 4-second tokens: a refresh every ~2 s, for three cycles.
  await waitForEvent(pages[0], "TOKEN_REFRESHED", { count: 3, timeout: 20_000 });
  const stats = await getStats(dpop.url);
  const refreshes = route(stats, "POST /auth/refresh");
  const cycles = (await pages[0].evaluate(() => window.events.filter((e) => e.event === "TOKEN_REFRESHED").length));
  assert.ok(refreshes.count <= cycles + 1, `${refreshes.count} refreshes for ${cycles} cycles across 5 tabs`);
  assert.deepEqual(Object.keys(refreshes.statuses), ["200"], "no refresh was refused");
});

test("dpop: a reload keeps the key; logout deletes it and the next login has a new one", async (t) => {
  await resetServer(dpop.url);
  const { pages } = await openTabs(t, browser, dpop.url, 1, { dpop: true, autoRefresh: false });
  const [page] = pages;
  const first = await loginOk(page, "user", "user-password");
  const jkt = jwtClaims(first.accessToken).cnf.jkt;
  await page.reload();
  await page.evaluate(async () => {
    const tk = await import("/pkg/tokenkeeper.js");
    await tk.default();
    window.client = new tk.AuthClient({ baseUrl: location.origin, dpop: true, autoRefresh: false });
  });
  assert.equal((await fetchInPage(page, "/auth/me")).status, 200, "the reloaded page proves with the same key");
  assert.equal((await diagnostics(page)).dpop.thumbprint, jkt);
  await page.evaluate(() => window.client.logout());
  const keys = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("tokenkeeper-dpop");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction("keys").objectStore("keys").count();
          request.onsuccess = () => resolve(request.result);
        };
      }),
  );
  assert.equal(keys, 0, "logout deleted the key");
  const second = await page.evaluate(() => window.client.login("user", "user-password"));
  assert.notEqual(jwtClaims(second.accessToken).cnf.jkt, jkt, "a new key for the new login");
});

test("dpop: a page clock 10 minutes off still passes the server's iat window", async (t) => {
  await resetServer(dpop.url);
  for (const offsetMs of [600_000, -600_000]) {
    const { pages } = await openTabs(t, browser, dpop.url, 1, { dpop: true }, {
      beforeOpen: (context) => context.clock.install({ time: Date.now() + offsetMs }),
    });
    const [page] = pages;
    await loginOk(page, "user", "user-password");
    assert.equal((await fetchInPage(page, "/auth/me")).status, 200, `clock ${offsetMs / 60000} min`);
    await page.evaluate(() => window.client.refresh());
  }
});

test("dpop: no IndexedDB, or a dpop that is not a boolean: AuthError config, never a bearer fallback", async (t) => {
  const { pages } = await openTabs(t, browser, dpop.url, 1, null, {
    initScript: () => Object.defineProperty(window, "indexedDB", { value: undefined }),
  });
  const outcomes = await pages[0].evaluate((base) => {
    const attempt = (options) => {
      try {
        new window.tk.AuthClient({ baseUrl: base, ...options });
        return "created";
      } catch (error) {
        return [error instanceof window.tk.AuthError, error.code, /IndexedDB|boolean/.test(error.message)];
      }
    };
    return [attempt({ dpop: true }), attempt({ dpop: "yes", storage: "memory" }), attempt({ dpop: true, storage: "memory" })];
  }, dpop.url);
  assert.deepEqual(outcomes, [[true, "config", true], [true, "config", true], "created"]);
});
