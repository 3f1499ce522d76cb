// Failures, sleep and clock skew, against the companion server with test-mode fault injection:
// a server failing every refresh gets a bounded number of requests and the session survives and
// recovers; Retry-After is honoured by every tab; after timers were frozen past exp nothing is
// sent with an expired token; a page clock 10 minutes off still refreshes before the server's exp.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  armFault,
  assertNoExpiredTokenSent,
  clientFetch,
  countStatus,
  diagnostics,
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
  sessionChain,
  startApiLoop,
  startTestServer,
  stopApiLoop,
  totalStatus,
  waitForEvent,
} from "./client-helpers.mjs";

/** The core's cap: failed refresh attempts per 60-second window (`schedule.rs`), for all tabs. */
const MAX_FAILURES_PER_WINDOW = 5;
const FAILURE_WINDOW_MS = 60_000;
// src/logic/session/mod.rs MIN_TOKEN_LIFE_TO_SEND: while refreshes are held back, a token with less
// than this left is not sent.
const MIN_TOKEN_LIFE_TO_SEND_MS = 1000;

let browser;
let tenSeconds; // 10-second access tokens: due after 5 s, valid 5 s more
let short; // 3-second access tokens

before(async () => {
  [browser, tenSeconds, short] = await Promise.all([
    launchChromium(),
    startTestServer(["--access-ttl", "10", "--refresh-ttl", "300"]),
    startTestServer(["--access-ttl", "3", "--refresh-ttl", "120"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), tenSeconds?.stop(), short?.stop()]);
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

test("resilience: a server failing every refresh for 30 s gets at most 5 requests from 3 tabs; the session survives and recovers", async (t) => {
  await resetServer(tenSeconds.url);
  const { pages, requests } = await openTabs(t, browser, tenSeconds.url, 3);
  const s0 = await loginOk(pages[0], "user", "user-password");
  await Promise.all(pages.slice(1).map((page) => waitForEvent(page, "SIGNED_IN")));
  const exp0 = jwtClaims(s0.accessToken).exp * 1000;
  await armFault(tenSeconds.url, { endpoint: "refresh", status: 500, count: 1000 });
  for (const page of pages) await startApiLoop(page, { everyMs: 250 });

  // The first failed refresh (due 5 s after login) starts 30 s of failures.
  await Promise.all(pages.map((page) => waitForEvent(page, "REFRESH_FAILED", { timeout: 10_000 })));
  await Promise.all(requests.map((log) => log.settled()));
  const outageStart = requestsTo(requests, "/auth/refresh")[0].at;
  await sleep(outageStart + 30_000 - Date.now());

  const during = await Promise.all(
    pages.map((page) =>
      page.evaluate(() => ({
        session: window.client.session() !== null,
        authenticated: window.client.isAuthenticated(),
        diagnostics: window.client.getDiagnostics(),
      })),
    ),
  );
  const failedRefreshes = requestsTo(requests, "/auth/refresh");
  const outageStats = await getStats(tenSeconds.url);
  // The server works again (a harmless fault replaces the failing one).
  await armFault(tenSeconds.url, { endpoint: "refresh", delay_ms: 1 });
  const serverBack = Date.now();
  const failures = (await eventNames(pages[0])).filter((n) => n === "REFRESH_FAILED").length;
  await Promise.all(
    pages.map((page) => waitForEvent(page, "TOKEN_REFRESHED", { timeout: FAILURE_WINDOW_MS })),
  );
  const recovered = Date.now();
  await sleep(1000); // some traffic with the recovered session
  const calls = (await Promise.all(pages.map(stopApiLoop))).flat();
  await Promise.all(pages.map((page) => page.evaluate(() => window.client.dispose())));
  await Promise.all(requests.map((log) => log.settled()));
  const stats = await getStats(tenSeconds.url);

  // Bounded: the attempt window is shared by the tabs, so 30 s of failures see at most 5.
  const count = failedRefreshes.length;
  assert.equal(countStatus(outageStats, "POST /auth/refresh", 500), count);
  assert.ok(count >= 1 && count <= MAX_FAILURES_PER_WINDOW, `${count} refresh requests during the outage`);
  // Backoff: the timer's retries wait longer each time (0.5-1 s, 1-2 s, 2-4 s ...).
  const gaps = failedRefreshes.slice(1).map((r, i) => r.at - failedRefreshes[i].at);
  assert.ok(gaps[0] >= 400, `first retry after ${gaps[0]} ms`);
  // The session survived: kept in every tab (its token expired after 5 s), never signed out.
  for (const [i, state] of during.entries()) {
    assert.equal(state.session, true, `tab ${i} dropped the session`);
    assert.equal(state.authenticated, false, "the access token has expired");
    assert.equal(state.diagnostics.phase, "expired");
    assert.ok(state.diagnostics.consecutiveFailures >= 1, JSON.stringify(state.diagnostics));
    assert.equal(state.diagnostics.lastError?.code, "server");
    assert.equal(state.diagnostics.lastError?.status, 500);
    assert.ok(state.diagnostics.nextRefreshAt > Date.now() - 60_000, JSON.stringify(state.diagnostics));
  }
  for (const [i, page] of pages.entries()) {
    assert.deepEqual(await lossEvents(page), [], `tab ${i} lost the session`);
    assert.deepEqual(pageErrors(page), []);
  }
  // While the token had more than a second left the app worked; in its last second (a request
  // would reach the server expired: MIN_TOKEN_LIFE_TO_SEND) and once expired, calls failed
  // without being sent.
  const usable = calls.filter((c) => c.at < exp0 - MIN_TOKEN_LIFE_TO_SEND_MS - 500);
  assert.ok(usable.length > 0 && usable.every((c) => c.ok && c.value === 200), "valid token, working app");
  const rejected = calls.filter((c) => !c.ok);
  assert.ok(rejected.length > 0);
  const firstRejected = Math.min(...rejected.map((c) => c.at));
  assert.ok(firstRejected >= exp0 - MIN_TOKEN_LIFE_TO_SEND_MS - 500, `a call failed ${exp0 - firstRejected} ms before exp`);
  assert.deepEqual([...new Set(rejected.map((c) => c.error.code))], ["server"]);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  assertNoExpiredTokenSent(requests.flat(), ["/dashboard"]);
  // Recovered by itself: one successful refresh, adopted by every tab, and the app works again.
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), 1);
  const chains = await Promise.all(pages.map(sessionChain));
  assert.equal(new Set(chains.map((c) => c.at(-1).accessToken)).size, 1, "one session in every tab");
  assert.ok(calls.some((c) => c.at > recovered && c.ok && c.value === 200));
  const firstFailure = failedRefreshes[0].at;
  t.diagnostic(
    `failing server: ${count} refresh requests in 30 s (bound ${MAX_FAILURES_PER_WINDOW} per ` +
      `${FAILURE_WINDOW_MS / 1000} s, all tabs together), at +${failedRefreshes.map((r) => r.at - firstFailure).join(", +")} ms; ` +
      `REFRESH_FAILED per tab ${failures}; recovered ${recovered - serverBack} ms after the server came back ` +
      `(${recovered - firstFailure} ms after the first failure)`,
  );
});

test("resilience: 429 and 503 with Retry-After hold back every tab for that long", async (t) => {
  await resetServer(short.url);
  const { pages, requests } = await openTabs(t, browser, short.url, 3);
  await loginOk(pages[0], "user", "user-password");
  await Promise.all(pages.slice(1).map((page) => waitForEvent(page, "SIGNED_IN")));
  for (const page of pages) await startApiLoop(page, { everyMs: 200 });

  const gaps = [];
  for (const [round, [status, wait]] of [[429, 5], [503, 3]].entries()) {
    // Armed right after a refresh landed (or the login), so the next refresh is the one refused.
    const armedAt = Date.now();
    await armFault(short.url, { endpoint: "refresh", status, retry_after: wait });
    await Promise.all(pages.map((page) => waitForEvent(page, "REFRESH_FAILED", { count: round + 1, timeout: 10_000 })));
    const held = await Promise.all(pages.map(diagnostics));
    const now = Date.now();
    for (const d of held) {
      assert.ok(d.retryNotBefore !== null, JSON.stringify(d));
      assert.ok(d.retryNotBefore - now > (wait - 1.5) * 1000 && d.retryNotBefore - now <= wait * 1000, JSON.stringify(d));
      assert.equal(d.lastError?.code, status === 429 ? "rate_limited" : "server");
    }
    await Promise.all(
      pages.map(async (page) => {
        const n = (await eventNames(page)).filter((e) => e === "TOKEN_REFRESHED").length;
        await waitForEvent(page, "TOKEN_REFRESHED", { count: n + 1, timeout: (wait + 5) * 1000 });
      }),
    );
    await Promise.all(requests.map((log) => log.settled()));
    const stats = await getStats(short.url);
    assert.equal(countStatus(stats, "POST /auth/refresh", status), 1, `one ${status}`);
    const [refused, next] = requestsTo(requests, "/auth/refresh").filter((r) => r.at >= armedAt);
    const gap = next.at - refused.at;
    assert.ok(gap >= wait * 1000, `next refresh ${gap} ms after the ${status} (Retry-After: ${wait})`);
    assert.ok(gap < (wait + 2) * 1000, `and not much later: ${gap} ms`);
    gaps.push(`${status}+Retry-After ${wait}: ${gap} ms`);
  }
  const calls = (await Promise.all(pages.map(stopApiLoop))).flat();
  await Promise.all(requests.map((log) => log.settled()));
  const stats = await getStats(short.url);
  // While held back the token expired: calls failed with rate_limited or server, never sent.
  const codes = new Set(calls.filter((c) => !c.ok).map((c) => c.error.code));
  for (const code of codes) assert.ok(["rate_limited", "server"].includes(code), code);
  assertNoExpiredTokenSent(requests.flat(), ["/dashboard"]);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  for (const page of pages) assert.deepEqual(await lossEvents(page), []);
  t.diagnostic(gaps.join("; "));
});

test("resilience: after timers were frozen past exp, the first getAccessToken() and fetch() refresh before anything is sent", async (t) => {
  await resetServer(short.url);
  const { context, pages, requests } = await openTabs(t, browser, short.url, 1, {}, {
    beforeOpen: (context) => context.clock.install(),
  });
  const [page] = pages;
  await loginOk(page, "user", "user-password");
  const results = [];
  for (const call of ["getAccessToken", "fetch"]) {
    const before = await page.evaluate(() => window.__plain(window.client.session()));
    const exp = jwtClaims(before.accessToken).exp * 1000;
    // A suspended laptop: the page's timers stop (its refresh timer never fires) while the wall
    // clock moves on past exp.
    await context.clock.pauseAt((await page.evaluate(() => Date.now())) + 20);
    const frozenAt = Date.now();
    await sleep(exp + 1000 - Date.now());
    await Promise.all(requests.map((log) => log.settled()));
    assert.equal(requestsTo(requests, "/auth/refresh").filter((r) => r.at > frozenAt).length, 0, "timers were frozen");
    await context.clock.setSystemTime(Date.now()); // the page wakes up: Date.now() is past exp
    const asked = Date.now();
    let token;
    if (call === "getAccessToken") {
      token = await page.evaluate(() => window.client.getAccessToken());
    } else {
      const response = await clientFetch(page, "/dashboard");
      assert.ok(response.ok && response.value.status === 200, JSON.stringify(response));
    }
    await Promise.all(requests.map((log) => log.settled()));
    const refresh = requestsTo(requests, "/auth/refresh").filter((r) => r.at >= asked);
    assert.equal(refresh.length, 1, "one refresh, first");
    assert.equal(presentedRefreshToken(refresh[0]), before.refreshToken);
    if (call === "getAccessToken") {
      assert.notEqual(token, before.accessToken);
      assert.ok(jwtClaims(token).exp * 1000 > Date.now(), "a fresh token");
    } else {
      const sent = requestsTo(requests, "/dashboard").filter((r) => r.at >= asked);
      assert.equal(sent.length, 1);
      assert.ok(sent[0].at >= refresh[0].at, "the request left after the refresh");
      assert.notEqual(sent[0].authorization, `Bearer ${before.accessToken}`);
    }
    results.push(`${call}: refreshed ${refresh[0].at - asked} ms after waking, ${Date.now() - exp} ms past exp`);
    await context.clock.resume();
  }
  const stats = await getStats(short.url);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  assertNoExpiredTokenSent(requests.flat(), ["/dashboard"]);
  assert.deepEqual(await lossEvents(page), []);
  assert.deepEqual(pageErrors(page), []);
  t.diagnostic(results.join("; "));
});

for (const [label, offset] of [["ahead", 600_000], ["behind", -600_000]]) {
  test(`resilience: a page clock 10 minutes ${label} refreshes before the server's exp and never sees a fresh token as expired`, async (t) => {
    await resetServer(short.url);
    const { pages, requests } = await openTabs(t, browser, short.url, 1, {}, {
      beforeOpen: (context) => context.clock.install({ time: Date.now() + offset }),
    });
    const [page] = pages;
    const skew = (await page.evaluate(() => Date.now())) - Date.now();
    assert.ok(Math.abs(skew - offset) < 1000, `page clock off by ${skew} ms`);

    const s0 = await loginOk(page, "user", "user-password");
    const fresh = await page.evaluate(async () => ({
      authenticated: window.client.isAuthenticated(),
      diagnostics: window.client.getDiagnostics(),
      now: Date.now(),
      token: await window.client.getAccessToken(),
    }));
    assert.equal(fresh.authenticated, true, "a fresh token is not expired");
    assert.equal(fresh.token, s0.accessToken, "no refresh for a fresh token");
    assert.equal(fresh.diagnostics.phase, "signed_in");
    const plan = fresh.diagnostics.nextRefreshAt - fresh.now;
    assert.ok(plan > 300 && plan < 3000, `next refresh planned in ${plan} ms`);
    // Server clock minus page clock, as the client estimated it.
    assert.ok(Math.abs(fresh.diagnostics.clockOffsetMs + offset) < 2000, JSON.stringify(fresh.diagnostics));

    await startApiLoop(page, { everyMs: 200 });
    const started = Date.now();
    await waitForEvent(page, "TOKEN_REFRESHED", { count: 6, timeout: 20_000 });
    const calls = await stopApiLoop(page);
    await page.evaluate(() => window.client.dispose());
    const elapsed = Date.now() - started;
    await Promise.all(requests.map((log) => log.settled()));
    const stats = await getStats(short.url);

    const chain = await sessionChain(page);
    const refreshes = requestsTo(requests, "/auth/refresh");
    assert.equal(refreshes.length, chain.length - 1, "no refresh storm, no lost refresh");
    assert.ok(refreshes.length <= elapsed / 1000 + 2, `${refreshes.length} refreshes in ${elapsed} ms`);
    // Each refresh left before the token it replaced expired on the server's (real) clock.
    const margins = refreshes.map((r, i) => {
      assert.equal(presentedRefreshToken(r), chain[i].refreshToken);
      return jwtClaims(chain[i].accessToken).exp * 1000 - r.at;
    });
    for (const margin of margins) assert.ok(margin > 0, `a refresh ${-margin} ms after exp`);
    assert.deepEqual(calls.filter((c) => !c.ok || c.value !== 200), [], "every API call succeeded");
    assertNoExpiredTokenSent(requests.flat(), ["/dashboard"]);
    assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
    const names = await eventNames(page);
    assert.ok(!names.includes("REFRESH_FAILED") && !names.includes("SIGNED_OUT"), names.join());
    assert.deepEqual(pageErrors(page), []);
    t.diagnostic(
      `clock ${label} ${offset / 1000} s: estimated offset ${fresh.diagnostics.clockOffsetMs} ms, ` +
        `${refreshes.length} refreshes in ${Math.round(elapsed / 100) / 10} s, each ${Math.min(...margins)}-` +
        `${Math.max(...margins)} ms before the server's exp`,
    );
  });
}
