// Many tabs, one session: several pages of one browser context share `localStorage` (or a custom
// adapter), and must behave as one client: one refresh request per expiry, under the Web Lock
// `tokenkeeper:<storageKey>`; results and sign-outs reach every tab at once, through the
// BroadcastChannel `tokenkeeper:<storageKey>` (storage events are the fallback); no tab is ever
// signed out because another one rotated the refresh token, even without Web Locks.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  armFault,
  assertNoExpiredTokenSent,
  countStatus,
  events,
  eventNames,
  getStats,
  jwtClaims,
  loginOk,
  lossEvents,
  openTabs,
  pageErrors,
  presentedRefreshToken,
  requestsTo,
  resetServer,
  route,
  sessionChain,
  startApiLoop,
  startTestServer,
  stopApiLoop,
  totalStatus,
  waitForEvent,
} from "./client-helpers.mjs";

let browser;
let strict; // 3-second access tokens, reuse detection without grace: any reuse revokes the session
let short; // 3-second access tokens, the default 10-second grace window
let long; // 5-minute access tokens: nothing expires during a test

before(async () => {
  [browser, strict, short, long] = await Promise.all([
    launchChromium(),
    startTestServer(["--access-ttl", "3", "--refresh-ttl", "120", "--refresh-grace", "0"]),
    startTestServer(["--access-ttl", "3", "--refresh-ttl", "120"]),
    startTestServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), strict?.stop(), short?.stop(), long?.stop()]);
});

/** Removes Web Locks from every page (old browsers, insecure contexts). */
function withoutWebLocks() {
  Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined, configurable: true });
}

/** Removes BroadcastChannel from every page (old browsers, some webviews). */
function withoutBroadcastChannel() {
  delete window.BroadcastChannel;
}

/** Page clock now (all pages of these tests share the machine's clock). */
const pageNow = (page) => page.evaluate(() => Date.now());

/** When `page` logged its `count`-th `name` event (page clock). */
async function eventTime(page, name, count = 1) {
  const log = await waitForEvent(page, name, { count });
  return log.filter((e) => e.event === name)[count - 1].at;
}

/**
 * Waits until every page in `pages` logged `count`× `name` and returns, per page, how long after
 * `since` (page clock) that event came.
 */
async function delaysUntil(pages, name, since, { count = 1, timeout = 5_000 } = {}) {
  return Promise.all(
    pages.map(async (page) => {
      const log = await waitForEvent(page, name, { count, timeout });
      return log.filter((e) => e.event === name)[count - 1].at - since;
    }),
  );
}

test("tabs: 5 tabs, 3-second tokens, 20 refresh cycles: one request per cycle, no sign-out, no expired token", async (t) => {
  await resetServer(strict.url);
  const { pages, requests } = await openTabs(t, browser, strict.url, 5);
  const s0 = await loginOk(pages[0], "user", "user-password");
  await Promise.all(pages.slice(1).map((page) => waitForEvent(page, "SIGNED_IN")));
  for (const page of pages) await startApiLoop(page, { everyMs: 200 });

  await waitForEvent(pages[0], "TOKEN_REFRESHED", { count: 20, timeout: 60_000 });
  // Stop in the quiet part of a cycle (a refresh has just landed; the next is >1 s away), so no
  // request is left in flight: stop the traffic, then every client's timer.
  const calls = (await Promise.all(pages.map(stopApiLoop))).flat();
  await Promise.all(pages.map((page) => page.evaluate(() => window.client.dispose())));
  const stats = await getStats(strict.url);
  await Promise.all(requests.map((log) => log.settled()));

  // One session: every tab went through the same chain of tokens, in the same order.
  const chain = await sessionChain(pages[0]);
  assert.equal(chain[0].accessToken, s0.accessToken);
  for (const [i, page] of pages.entries()) {
    const theirs = (await sessionChain(page)).map((s) => s.accessToken);
    assert.deepEqual(theirs, chain.map((s) => s.accessToken), `tab ${i} saw another chain`);
    assert.deepEqual(await lossEvents(page), [], `tab ${i} lost the session`);
    assert.ok(!(await eventNames(page)).includes("REFRESH_FAILED"), `tab ${i}: a refresh failed`);
  }

  // Exactly one refresh request per cycle: each presented the current refresh token (never one
  // already spent: with --refresh-grace 0 that would have revoked the session), before the
  // access token it replaced expired, at least a second after the previous one.
  const refreshes = requestsTo(requests, "/auth/refresh");
  const cycles = chain.length - 1;
  assert.ok(cycles >= 20, `${cycles} cycles`);
  assert.equal(refreshes.length, cycles, `refresh requests ${refreshes.length} for ${cycles} cycles`);
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: cycles });
  // As the browser sent them: Node's own timestamps carry its event loop's delays.
  const sent = await Promise.all(refreshes.map((request) => request.sentAt()));
  for (const [i, request] of refreshes.entries()) {
    assert.equal(presentedRefreshToken(request), chain[i].refreshToken, `refresh ${i} token`);
    assert.ok(sent[i] < jwtClaims(chain[i].accessToken).exp * 1000, `refresh ${i} after exp`);
    if (i > 0) assert.ok(sent[i] - sent[i - 1] >= 1000, `refresh ${i} too soon: ${sent[i] - sent[i - 1]} ms after the previous`);
  }
  const byTab = pages.map((_, tab) => refreshes.filter((r) => r.tab === tab).length);

  // The app's traffic: every call succeeded, none carried an expired token, no 401 anywhere.
  const failed = calls.filter((c) => !c.ok || c.value !== 200);
  assert.deepEqual(failed, [], "every API call succeeded");
  const checked = assertNoExpiredTokenSent(requests.flat(), ["/dashboard"]);
  assert.equal(checked, calls.length, "every API call carried a token");
  assert.equal(countStatus(stats, "GET /dashboard", 200), calls.length);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  for (const page of pages) assert.deepEqual(pageErrors(page), []);
  t.diagnostic(
    `cycles ${cycles}, refresh requests ${refreshes.length} (per tab ${byTab.join("/")}), ` +
      `API calls ${calls.length}, 401s 0`,
  );
});

test("tabs: a sign-in, a refresh and a sign-out in one tab reach every tab within a second, with the same events", async (t) => {
  await resetServer(long.url);
  const { pages } = await openTabs(t, browser, long.url, 5);

  const s = await loginOk(pages[0], "user", "user-password");
  let since = await eventTime(pages[0], "SIGNED_IN");
  const signIn = await delaysUntil(pages.slice(1), "SIGNED_IN", since);
  for (const page of pages) {
    const log = await events(page);
    assert.deepEqual(log.at(-1).session, s);
  }

  // Two tabs call refresh() at once (the server takes 500 ms to answer, so they overlap): one
  // request, and the tab that waited for the lock resolves with the other's session.
  await armFault(long.url, { endpoint: "refresh", delay_ms: 500 });
  const [mine, theirs] = await Promise.all(
    [pages[2], pages[3]].map((page) =>
      page.evaluate(() => window.__try(async () => window.__plain(await window.client.refresh()))),
    ),
  );
  assert.ok(mine.ok && theirs.ok, JSON.stringify([mine, theirs]));
  assert.equal(theirs.value.accessToken, mine.value.accessToken);
  since = Math.min(await eventTime(pages[2], "TOKEN_REFRESHED"), await eventTime(pages[3], "TOKEN_REFRESHED"));
  const refresh = await delaysUntil(pages, "TOKEN_REFRESHED", since);

  since = await pageNow(pages[4]);
  const out = await pages[4].evaluate(() => window.__try(() => window.client.logout()));
  assert.deepEqual(out, { ok: true, value: undefined });
  const signOut = await delaysUntil(pages, "SIGNED_OUT", since);
  for (const [i, page] of pages.entries()) {
    const state = await page.evaluate(async () => ({
      session: window.client.session(),
      token: await window.client.getAccessToken(),
      stored: localStorage.getItem("tokenkeeper"),
    }));
    assert.deepEqual(state, { session: null, token: null, stored: null }, `tab ${i}`);
    const names = await eventNames(page);
    assert.deepEqual(names, ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"], `tab ${i}`);
  }

  for (const delays of [signIn, refresh, signOut]) {
    for (const delay of delays) assert.ok(delay < 1000, `a tab heard after ${delay} ms`);
  }
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/login").statuses, { 200: 1 });
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 });
  // Only the tab that called logout() called the server.
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 1 });
  t.diagnostic(
    `propagation (ms, slowest tab): sign-in ${Math.max(...signIn)}, refresh ${Math.max(...refresh)}, ` +
      `sign-out ${Math.max(...signOut)}`,
  );
});

test("tabs: listeners run after state is committed and may re-enter the client and the lock", async (t) => {
  await resetServer(short.url);
  const { pages } = await openTabs(t, browser, short.url, 1);
  const [page] = pages;
  // Each listener call checks synchronously that the client and storage already hold what it is
  // told: storage is written and the lock released before listeners run. The first
  // TOKEN_REFRESHED re-enters the client and takes the cross-tab lock itself, the supabase
  // auth-js 762 deadlock had the listener run under the lock.
  await page.evaluate(() => {
    window.checks = [];
    window.reentry = null;
    window.client.onAuthStateChange((event, session) => {
      if (event === "INITIAL_SESSION") return;
      const stored = JSON.parse(localStorage.getItem("tokenkeeper") ?? "null");
      const token = session?.accessToken ?? null;
      window.checks.push({
        event,
        stored: (stored?.accessToken ?? null) === token,
        client: (window.client.session()?.accessToken ?? null) === token,
      });
      if (event === "TOKEN_REFRESHED" && window.reentry === null) {
        window.reentry = (async () => {
          const started = Date.now();
          const current = await window.__within(window.client.getAccessToken(), 3000, "getAccessToken");
          const refreshed = await window.__within(window.client.refresh(), 3000, "refresh");
          await window.__within(
            navigator.locks.request("tokenkeeper:tokenkeeper", async () => {}),
            3000,
            "the lock",
          );
          return { ms: Date.now() - started, current: typeof current, refreshed: typeof refreshed.accessToken };
        })().catch((error) => ({ error: String(error) }));
      }
    });
  });
  await loginOk(page, "user", "user-password");
  await waitForEvent(page, "TOKEN_REFRESHED", { count: 3, timeout: 10_000 });
  const reentry = await page.evaluate(() => window.reentry);
  assert.equal(reentry?.error, undefined, JSON.stringify(reentry));
  assert.deepEqual([reentry.current, reentry.refreshed], ["string", "string"]);
  assert.ok(reentry.ms < 3000, `${reentry.ms} ms`);

  // A failed refresh (stored with the session for the other tabs) and a sign-out too.
  const refreshedSoFar = (await eventNames(page)).filter((n) => n === "TOKEN_REFRESHED").length;
  await armFault(short.url, { endpoint: "refresh", status: 503, retry_after: 1 });
  await waitForEvent(page, "REFRESH_FAILED", { timeout: 10_000 });
  await waitForEvent(page, "TOKEN_REFRESHED", { count: refreshedSoFar + 1, timeout: 10_000 });
  await page.evaluate(() => window.client.logout());
  await waitForEvent(page, "SIGNED_OUT");

  const checks = await page.evaluate(() => window.checks);
  const seen = new Set(checks.map((c) => c.event));
  for (const event of ["SIGNED_IN", "TOKEN_REFRESHED", "REFRESH_FAILED", "SIGNED_OUT"]) {
    assert.ok(seen.has(event), `${event} in ${JSON.stringify(checks)}`);
  }
  assert.deepEqual(checks.filter((c) => !c.stored || !c.client), [], "a listener saw uncommitted state");
  assert.deepEqual(pageErrors(page), []);
});

test("tabs: a custom async storage adapter is shared through the BroadcastChannel alone", async (t) => {
  await resetServer(long.url);
  const { pages } = await openTabs(t, browser, long.url, 3, { storage: "custom-async" });

  const s = await loginOk(pages[0], "user", "user-password");
  let since = await eventTime(pages[0], "SIGNED_IN");
  const signIn = await delaysUntil(pages.slice(1), "SIGNED_IN", since);
  assert.deepEqual((await events(pages[2])).at(-1).session, s);
  const stored = await pages[1].evaluate(() => [
    localStorage.getItem("tokenkeeper"),
    JSON.parse(localStorage.getItem("custom:tokenkeeper") ?? "null")?.accessToken,
  ]);
  assert.deepEqual(stored, [null, s.accessToken], "the adapter held the session, not localStorage");

  await pages[1].evaluate(() => window.client.refresh());
  since = await eventTime(pages[1], "TOKEN_REFRESHED");
  const refresh = await delaysUntil([pages[0], pages[2]], "TOKEN_REFRESHED", since);

  since = await pageNow(pages[2]);
  await pages[2].evaluate(() => window.client.logout());
  const signOut = await delaysUntil([pages[0], pages[1]], "SIGNED_OUT", since);

  for (const delay of [...signIn, ...refresh, ...signOut]) assert.ok(delay < 1000, `${delay} ms`);
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 });
  t.diagnostic(`custom adapter propagation (ms): ${[...signIn, ...refresh, ...signOut].join(", ")}`);
});

test("tabs: without BroadcastChannel, storage events carry every change", async (t) => {
  await resetServer(long.url);
  const { pages } = await openTabs(t, browser, long.url, 3, {}, { initScript: withoutBroadcastChannel });
  assert.equal(await pages[0].evaluate(() => typeof BroadcastChannel), "undefined");

  await loginOk(pages[0], "user", "user-password");
  let since = await eventTime(pages[0], "SIGNED_IN");
  const signIn = await delaysUntil(pages.slice(1), "SIGNED_IN", since);
  await pages[1].evaluate(() => window.client.refresh());
  since = await eventTime(pages[1], "TOKEN_REFRESHED");
  const refresh = await delaysUntil([pages[0], pages[2]], "TOKEN_REFRESHED", since);
  since = await pageNow(pages[2]);
  await pages[2].evaluate(() => window.client.logout());
  const signOut = await delaysUntil([pages[0], pages[1]], "SIGNED_OUT", since);
  for (const delay of [...signIn, ...refresh, ...signOut]) assert.ok(delay < 1000, `${delay} ms`);
  for (const page of pages) assert.deepEqual(pageErrors(page), []);
});

test("tabs: without Web Locks, a tab is never signed out because another rotated the token", async (t) => {
  await resetServer(short.url);
  const { pages, requests } = await openTabs(t, browser, short.url, 5, {}, { initScript: withoutWebLocks });
  assert.equal(await pages[0].evaluate(() => typeof navigator.locks), "undefined");
  await loginOk(pages[0], "user", "user-password");
  await Promise.all(pages.slice(1).map((page) => waitForEvent(page, "SIGNED_IN")));
  for (const page of pages) await startApiLoop(page, { everyMs: 250 });
  const started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const calls = (await Promise.all(pages.map(stopApiLoop))).flat();
  await Promise.all(pages.map((page) => page.evaluate(() => window.client.dispose())));
  const stats = await getStats(short.url);
  await Promise.all(requests.map((log) => log.settled()));

  for (const [i, page] of pages.entries()) {
    assert.deepEqual(await lossEvents(page), [], `tab ${i} lost the session`);
  }
  assert.deepEqual(calls.filter((c) => !c.ok || c.value !== 200), [], "every API call succeeded");
  assertNoExpiredTokenSent(requests.flat(), ["/dashboard"]);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  const refreshes = requestsTo(requests, "/auth/refresh");
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), refreshes.length);
  // Cycles: distinct expiries among the tokens the refreshes brought.
  const chains = await Promise.all(pages.map(sessionChain));
  const cycles = new Set(chains.flat().slice(1).map((s) => jwtClaims(s.accessToken).exp)).size;
  t.diagnostic(
    `no Web Locks: ${refreshes.length} refresh requests in ${Math.round((Date.now() - started) / 1000)} s ` +
      `for about ${cycles} expiries, 0 sign-outs, 0 401s`,
  );
});

test("tabs: a refused refresh (401, then 400) ends the session in every tab, with one request", async (t) => {
  await resetServer(short.url);
  const { pages } = await openTabs(t, browser, short.url, 3);
  for (const [round, status] of [401, 400].entries()) {
    const before = route(await getStats(short.url), "POST /auth/refresh").count;
    await loginOk(pages[round], "user", "user-password");
    await armFault(short.url, { endpoint: "refresh", status });
    // The timer refreshes within 1.5 s; whichever tab sends it is refused.
    const logs = await Promise.all(
      pages.map((page) => waitForEvent(page, "SIGNED_OUT", { count: round + 1, timeout: 6_000 })),
    );
    const outAt = logs.map((log) => log.filter((e) => e.event === "SIGNED_OUT")[round].at);
    assert.ok(Math.max(...outAt) - Math.min(...outAt) < 1000, `sign-outs spread over ${outAt}`);
    const stats = await getStats(short.url);
    assert.equal(route(stats, "POST /auth/refresh").count - before, 1, "the other tabs did not try");
    assert.equal(countStatus(stats, "POST /auth/refresh", status), 1);
    for (const page of pages) {
      assert.equal(await page.evaluate(() => window.client.session()), null);
    }
    // The refused tab says why; every tab says the session ended.
    const failed = await Promise.all(pages.map(async (page) => (await eventNames(page)).filter((n) => n === "REFRESH_FAILED").length));
    assert.equal(failed.reduce((a, b) => a + b, 0), round + 1);
  }
});
