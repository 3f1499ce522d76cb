// Two windows of one browser (WebKit, or Firefox with E2E_ENGINE=firefox) share a session
// through localStorage, the Web Lock `tokenkeeper:<storageKey>` and the BroadcastChannel of the
// same name: a sign-in in one reaches the other, each expiry brings one refresh request (not one
// per window), and a sign-out in either ends both. tests/e2e/tabs.test.mjs has the Chromium
// version with 5 tabs.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { getStats, jwtClaims, resetServer, route, totalStatus } from "../e2e/client-helpers.mjs";
import { engine, openBrowser, startAll, startWebKit, startWebKitServer } from "./harness.mjs";

let driver;
let strict; // 3-second access tokens, no reuse grace: a spent refresh token sent twice revokes the session
let long; // 5-minute access tokens: no timer refresh during a test

before(async () => {
  [driver, strict, long] = await startAll([
    startWebKit(),
    startWebKitServer(["--access-ttl", "3", "--refresh-ttl", "120", "--refresh-grace", "0"]),
    startWebKitServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
  ]);
});
after(async () => {
  await Promise.all([driver?.stop(), strict?.stop(), long?.stop()]);
});

/** The sessions a window went through: the sign-in, then each refresh (its own or adopted). */
const chainOf = async (win) =>
  (await win.events()).filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED").map((e) => e.session);

test(`${engine.label} tabs: two windows share sign-in, one refresh per cycle and sign-out`, async (t) => {
  await resetServer(strict.url);
  const a = await openBrowser(t, driver, strict.url);
  const b = await a.browser.openWindow();
  assert.deepEqual(
    await b.run(() => [typeof navigator.locks?.request, typeof BroadcastChannel]),
    ["function", "function"],
    `${engine.name} has Web Locks and BroadcastChannel`,
  );
  await a.createClient();
  await b.createClient();

  const s0 = await a.loginOk("user", "user-password");
  const [signedIn] = await b.waitForEvent("SIGNED_IN", { timeout: 2_000 }).then((log) => log.filter((e) => e.event === "SIGNED_IN"));
  assert.deepEqual(signedIn.session, s0, "window b adopted window a's session");
  const signInAt = (await a.events()).find((e) => e.event === "SIGNED_IN").at;
  const signInDelay = signedIn.at - signInAt;

  // Six expiries of 3-second tokens, both windows idle: their timers race for each refresh.
  const cycles = 6;
  await a.waitForEvent("TOKEN_REFRESHED", { count: cycles, timeout: 30_000 });
  await b.waitForEvent("TOKEN_REFRESHED", { count: cycles, timeout: 5_000 });
  const [chainA, chainB] = [await chainOf(a), await chainOf(b)];
  const n = Math.min(chainA.length, chainB.length);
  assert.deepEqual(
    chainB.slice(0, n).map((s) => s.accessToken),
    chainA.slice(0, n).map((s) => s.accessToken),
    "both windows went through the same tokens, in order",
  );
  const requests = [...(await a.requests()), ...(await b.requests())]
    .filter((r) => r.path === "/auth/refresh")
    .sort((x, y) => x.at - y.at);
  const stats = await getStats(strict.url);
  const refreshes = route(stats, "POST /auth/refresh");
  const chain = chainA.length >= chainB.length ? chainA : chainB;
  const done = chain.length - 1;
  assert.equal(refreshes.count, requests.length);
  assert.ok(refreshes.count === done || refreshes.count === done + 1, `${refreshes.count} refreshes for ${done} cycles`);
  assert.deepEqual(refreshes.statuses, { 200: refreshes.count }, "no spent refresh token was presented");
  for (const [i, r] of requests.slice(0, done).entries()) {
    assert.ok(r.at < jwtClaims(chain[i].accessToken).exp * 1000, `refresh ${i} after exp`);
    if (i > 0) assert.ok(r.at - requests[i - 1].at >= 1000, `refresh ${i} came ${r.at - requests[i - 1].at} ms after the last`);
  }
  for (const win of [a, b]) {
    const names = await win.eventNames();
    for (const unwanted of ["SIGNED_OUT", "SESSION_EXPIRED", "REFRESH_FAILED"]) assert.ok(!names.includes(unwanted), `${names}`);
  }

  // A sign-out in b ends the session in a too, storage cleared, one server call.
  const outAt = await b.run(async () => {
    const at = Date.now();
    await client.logout();
    return at;
  });
  const [signedOut] = await a.waitForEvent("SIGNED_OUT", { timeout: 2_000 }).then((log) => log.filter((e) => e.event === "SIGNED_OUT"));
  const signOutDelay = signedOut.at - outAt;
  for (const win of [a, b]) {
    const state = await win.run(async () => ({
      session: client.session(),
      token: await client.getAccessToken(),
      stored: localStorage.getItem("tokenkeeper"),
    }));
    assert.deepEqual(state, { session: null, token: null, stored: null });
  }
  const final = await getStats(strict.url);
  assert.deepEqual(route(final, "POST /auth/logout").statuses, { 200: 1 });
  assert.equal(totalStatus(final, 401), 0, JSON.stringify(final.routes));
  t.diagnostic(
    `${done} cycles, ${refreshes.count} refresh requests (window a ${(await a.requests()).filter((r) => r.path === "/auth/refresh").length}), ` +
      `sign-in reached b after ${signInDelay} ms, sign-out reached a after ${signOutDelay} ms`,
  );
  assert.ok(signInDelay < 1000 && signOutDelay < 1000, `${signInDelay} / ${signOutDelay} ms`);
});

test(`${engine.label} tabs: without BroadcastChannel, storage events carry sign-in, refresh and sign-out`, async (t) => {
  await resetServer(long.url);
  const a = await openBrowser(t, driver, long.url);
  const b = await a.browser.openWindow();
  for (const win of [a, b]) {
    // The client looks BroadcastChannel up when it is made; the page has loaded by now.
    await win.run(() => delete window.BroadcastChannel);
    await win.createClient();
  }
  await a.loginOk("user", "user-password");
  await b.waitForEvent("SIGNED_IN", { timeout: 2_000 });
  await b.run(() => client.refresh());
  await a.waitForEvent("TOKEN_REFRESHED", { timeout: 2_000 });
  await a.run(() => client.logout());
  await b.waitForEvent("SIGNED_OUT", { timeout: 2_000 });
  for (const win of [a, b]) {
    assert.deepEqual(await win.eventNames(), ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"]);
  }
});
