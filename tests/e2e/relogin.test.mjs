// A login() while signed in: the old session is logged out on the server (checked from Node:
// its refresh token and access token are refused), the new one works, and in cookie mode the
// logout of the old session leaves the new session's refresh cookie alone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  getStats,
  jwtClaims,
  loginOk,
  openClient,
  pageErrors,
  resetServer,
  route,
  startTestServer,
} from "./client-helpers.mjs";

let browser;
let bearer; // standard profile, refresh token in the JSON body
let cookie; // --cookie-mode: the refresh token lives in an HttpOnly cookie

before(async () => {
  [browser, bearer, cookie] = await Promise.all([
    launchChromium(),
    startTestServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
    startTestServer(["--cookie-mode", "--access-ttl", "300", "--refresh-ttl", "600"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), bearer?.stop(), cookie?.stop()]);
});

/** Waits until `path` on `server` has been called `count` times (the logout is not awaited). */
async function waitForCalls(server, key, count, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await getStats(server.url);
    if (route(stats, key).count >= count) return stats;
    if (Date.now() > deadline) throw new Error(`${key}: ${JSON.stringify(stats.routes)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const refreshFromNode = (server, refreshToken) =>
  fetch(`${server.url}/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });

const meFromNode = (server, accessToken) =>
  fetch(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });

test("relogin: a login() while signed in logs the old session out on the server; the new one works", async (t) => {
  await resetServer(bearer.url);
  const { page } = await openClient(t, browser, bearer.url);
  const first = await loginOk(page, "user", "user-password");
  const second = await loginOk(page, "admin", "admin-password");
  assert.notEqual(jwtClaims(second.accessToken).sid, jwtClaims(first.accessToken).sid);

  const stats = await waitForCalls(bearer, "POST /auth/logout", 1);
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 1 });
  // From Node: the first session is over on the server, the second is not.
  assert.equal((await refreshFromNode(bearer, first.refreshToken)).status, 401);
  assert.equal((await meFromNode(bearer, first.accessToken)).status, 401);
  assert.equal((await meFromNode(bearer, second.accessToken)).status, 200);
  const refreshed = await page.evaluate(() => window.__try(async () => window.__plain(await window.client.refresh())));
  assert.ok(refreshed.ok, JSON.stringify(refreshed.error));
  assert.deepEqual(pageErrors(page), []);
});

test("relogin: in cookie mode the old session is logged out without the cookie, which stays the new session's", async (t) => {
  await resetServer(cookie.url);
  const { context, page } = await openClient(t, browser, cookie.url, { refresh: { via: "cookie" } });
  const first = await loginOk(page, "user", "user-password");
  const firstCookie = (await context.cookies(`${cookie.url}/auth/refresh`)).find((c) => c.name === "refresh_token");
  const second = await loginOk(page, "admin", "admin-password");
  await waitForCalls(cookie, "POST /auth/logout", 1);

  const jar = (await context.cookies(`${cookie.url}/auth/refresh`)).find((c) => c.name === "refresh_token");
  assert.ok(jar, "the refresh cookie survived the old session's logout");
  assert.equal(jwtClaims(jar.value).sid, jwtClaims(second.accessToken).sid, "it is the new session's");
  assert.equal((await meFromNode(cookie, first.accessToken)).status, 401, "the old session is revoked");
  assert.equal((await refreshFromNode(cookie, firstCookie.value)).status, 401, "its refresh token too");
  const refreshed = await page.evaluate(() => window.__try(async () => window.__plain(await window.client.refresh())));
  assert.ok(refreshed.ok, `the new session still refreshes: ${JSON.stringify(refreshed.error)}`);
  assert.equal(jwtClaims(refreshed.value.accessToken).sid, jwtClaims(second.accessToken).sid);
  assert.deepEqual(pageErrors(page), []);
});
