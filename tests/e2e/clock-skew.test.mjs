// Clock skew from the evidence a browser really has: a stale `iat` (the companion server's
// `--iat-age`, as djangorestframework-simplejwt before 5.5 stamps refreshed tokens), a page clock
// 10 minutes off, and a `Date` header the page may read or not. The page and the API share an
// origin, so `Date` is readable; "no Date exposed" strips it in transit, as a cross-origin API
// without `Access-Control-Expose-Headers: Date` would hide it.
//
// Each test checks on the *server's* clock: no token is handed out after its `exp`, the server
// sees no 401, every refresh leaves before the token it replaces dies, and no refresh storm.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  assertNoExpiredTokenSent,
  diagnostics,
  eventNames,
  getStats,
  jwtClaims,
  loginOk,
  openTabs,
  pageErrors,
  presentedRefreshToken,
  requestsTo,
  resetServer,
  sessionChain,
  startTestServer,
  totalStatus,
  waitForEvent,
} from "./client-helpers.mjs";

const HOUR = 3600;
const DAY = 24 * HOUR;
// 4-second access tokens: due after 2 s, so each test sees several refreshes in seconds.
const TTL = ["--access-ttl", "4", "--refresh-ttl", "300"];

let browser;
let fresh; // a true iat
let hourOld; // iat one hour old
let dayOld; // iat one day old

before(async () => {
  [browser, fresh, hourOld, dayOld] = await Promise.all([
    launchChromium(),
    startTestServer(TTL),
    startTestServer([...TTL, "--iat-age", String(HOUR)]),
    startTestServer([...TTL, "--iat-age", String(DAY)]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), fresh?.stop(), hourOld?.stop(), dayOld?.stop()]);
});

/** Removes the `Date` header from every API reply the page receives. */
async function hideDate(context, origin) {
  await context.route(`${origin}/auth/**`, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers() };
    delete headers.date;
    await route.fulfill({ response, headers });
  });
}

/**
 * In the page, every 150 ms until `stop()`: `getAccessToken()`, checked against the token's own
 * `exp` on the server's clock (the machine's clock plus `serverAheadMs`), and `client.fetch`
 * of `/auth/me`. Resolves to `{ probes, expired, statuses }`.
 */
async function startProbes(page, serverAheadMs) {
  await page.evaluate((ahead) => {
    const claims = (token) => JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    window.probes = { probes: 0, expired: [], statuses: {}, stop: false };
    (async () => {
      while (!window.probes.stop) {
        const token = await window.client.getAccessToken();
        const serverNow = Date.now() + ahead;
        window.probes.probes++;
        if (token && claims(token).exp * 1000 <= serverNow) {
          window.probes.expired.push({ exp: claims(token).exp * 1000, serverNow });
        }
        const response = await window.client.fetch("/auth/me");
        window.probes.statuses[response.status] = (window.probes.statuses[response.status] ?? 0) + 1;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
  }, serverAheadMs);
}

async function stopProbes(page) {
  return page.evaluate(async () => {
    window.probes.stop = true;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const { probes, expired, statuses } = window.probes;
    return { probes, expired, statuses };
  });
}

/**
 * Logs in on `server` with the page clock `offsetMs` off the real one (and `Date` hidden unless
 * `date`), runs the probes through `refreshes` refreshes, and checks every promise above.
 * Returns what the test reports.
 */
async function runSkewed(t, server, { offsetMs = 0, date = false, refreshes = 4 }) {
  await resetServer(server.url);
  const { pages, requests } = await openTabs(t, browser, server.url, 1, {}, {
    beforeOpen: async (context) => {
      if (offsetMs) await context.clock.install({ time: Date.now() + offsetMs });
      if (!date) await hideDate(context, server.url);
    },
  });
  const [page] = pages;
  const s0 = await loginOk(page, "user", "user-password");
  const first = await diagnostics(page);
  await startProbes(page, -offsetMs);
  const started = Date.now();
  await waitForEvent(page, "TOKEN_REFRESHED", { count: refreshes, timeout: 30_000 });
  const probes = await stopProbes(page);
  const elapsed = Date.now() - started;
  const last = await diagnostics(page);
  await page.evaluate(() => window.client.dispose());
  await Promise.all(requests.map((log) => log.settled()));
  const stats = await getStats(server.url);

  const chain = await sessionChain(page);
  assert.equal(chain[0].accessToken, s0.accessToken);
  const sent = requestsTo(requests, "/auth/refresh");
  assert.equal(sent.length, chain.length - 1, "no refresh storm, no lost refresh");
  // A 4-second token is refreshed halfway: about one refresh per 2 s, never a loop.
  assert.ok(sent.length <= elapsed / 1500 + 2, `${sent.length} refreshes in ${elapsed} ms`);
  // Each refresh left before the token it replaced expired on the server's (real) clock.
  const margins = sent.map((request, i) => {
    assert.equal(presentedRefreshToken(request), chain[i].refreshToken);
    return jwtClaims(chain[i].accessToken).exp * 1000 - request.at;
  });
  for (const margin of margins) assert.ok(margin > 0, `a refresh ${-margin} ms after exp`);
  assert.deepEqual(probes.expired, [], "getAccessToken() handed out an expired token");
  assert.ok(probes.probes >= 5, JSON.stringify(probes));
  assert.deepEqual(Object.keys(probes.statuses), ["200"], `fetch statuses ${JSON.stringify(probes.statuses)}`);
  assertNoExpiredTokenSent(requests.flat(), ["/auth/me"]);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  const names = await eventNames(page);
  assert.ok(!names.includes("REFRESH_FAILED") && !names.includes("SIGNED_OUT"), names.join());
  assert.deepEqual(pageErrors(page), []);
  return { first, last, margins, sent: sent.length, elapsed };
}

for (const [label, server, age] of [
  ["an hour", () => hourOld, HOUR],
  ["a day", () => dayOld, DAY],
]) {
  test(`clock skew: an iat ${label} old with a correct clock, no Date and no expires_in refreshes before exp and never hands out an expired token`, async (t) => {
    const run = await runSkewed(t, server(), {});
    // The stale iat is not believed: the clocks are taken to agree.
    assert.equal(run.first.clockOffsetMs, 0, JSON.stringify(run.first));
    assert.equal(run.first.clockOffsetSource, "none");
    t.diagnostic(
      `iat ${age} s old: offset ${run.first.clockOffsetMs} ms (${run.first.clockOffsetSource}), ` +
        `${run.sent} refreshes in ${run.elapsed} ms, each ${Math.min(...run.margins)}-${Math.max(...run.margins)} ms before exp`,
    );
  });
}

for (const [label, offsetMs] of [
  ["ahead", 600_000],
  ["behind", -600_000],
]) {
  test(`clock skew: a page clock 10 minutes ${label}, no Date and no expires_in: the iat decides, no storm, refreshes before exp`, async (t) => {
    const run = await runSkewed(t, fresh, { offsetMs });
    assert.ok(Math.abs(run.first.clockOffsetMs + offsetMs) < 2000, JSON.stringify(run.first));
    assert.equal(run.first.clockOffsetSource, "iat");
    t.diagnostic(
      `page ${offsetMs / 1000} s: offset ${run.first.clockOffsetMs} ms, ${run.sent} refreshes in ${run.elapsed} ms, ` +
        `each ${Math.min(...run.margins)}-${Math.max(...run.margins)} ms before exp`,
    );
  });
}

test("clock skew: an exposed Date decides the offset within a second, whatever a stale iat says", async (t) => {
  const offsetMs = 600_000;
  const run = await runSkewed(t, hourOld, { offsetMs, date: true });
  for (const d of [run.first, run.last]) {
    assert.ok(Math.abs(d.clockOffsetMs + offsetMs) <= 1000, JSON.stringify(d));
    assert.equal(d.clockOffsetSource, "date");
  }
  t.diagnostic(`page +600 s, iat an hour old, Date exposed: offset ${run.first.clockOffsetMs} ms`);
});
