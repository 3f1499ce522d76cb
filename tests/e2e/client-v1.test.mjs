// AuthClient against the companion server's v1 profile (FastAPI seed 001): JSON login by email
// answering only `{access_token}`, a token `{id, email, roles, exp}` with a float exp, GET
// /api/v1/me, and no refresh or logout endpoint: the session ends at exp with SESSION_EXPIRED.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchChromium } from "./harness.mjs";
import {
  FIXED_SECRET,
  armFault,
  assertNoExpiredTokenSent,
  clientFetch,
  createClient,
  eventNames,
  getStats,
  jwtClaims,
  loadPackage,
  login,
  loginOk,
  me,
  openClient,
  pageErrors,
  resetServer,
  route,
  session,
  startForeignOrigin,
  startTestServer,
  totalStatus,
  waitForEvent,
} from "./client-helpers.mjs";

const V1 = { profile: "v1" };
let browser;
let long; // 5-minute tokens
let short; // 3-second tokens

before(async () => {
  [browser, long, short] = await Promise.all([
    launchChromium(),
    startTestServer(["--profile", "v1", "--access-ttl", "300"]),
    startTestServer(["--profile", "v1", "--access-ttl", "3"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), long?.stop(), short?.stop()]);
});

test("v1: login by email, me(), claims (float exp) and role checks", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url, V1);
  const s = await loginOk(page, "admin@example.com", "admin-password");
  const claims = jwtClaims(s.accessToken);
  assert.deepEqual(claims.roles, ["admin"]);
  assert.equal(claims.email, "admin@example.com");
  assert.ok(!Number.isInteger(claims.exp), `the server writes a float exp (${claims.exp})`);
  assert.deepEqual(s.claims, claims, "a float exp stays a float");
  assert.equal(s.refreshToken, null);
  assert.equal(typeof s.expiresAt, "number");
  assert.ok(Math.abs(s.expiresAt - claims.exp * 1000) < 1, `expiresAt ${s.expiresAt} vs exp ${claims.exp}`);

  const state = await page.evaluate(() => ({
    session: window.__plain(client.session()),
    isAuthenticated: client.isAuthenticated(),
    claims: client.claims(),
    roles: [client.hasRole("admin"), client.hasRole("user"), client.hasAnyRole(["user", "admin"]), client.hasAllRoles(["admin", "user"])],
  }));
  assert.deepEqual(state, { session: s, isAuthenticated: true, claims, roles: [true, false, true, false] });

  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "admin@example.com");
  assert.deepEqual(who.value.roles, ["admin"]);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);

  // The login went out as JSON {email, password}.
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /api/v1/login").statuses, { 200: 1 });
  assert.deepEqual(route(stats, "GET /api/v1/me").statuses, { 200: 1 });
  const loginRequest = requests.find((q) => q.path === "/api/v1/login");
  assert.equal(loginRequest?.method, "POST");

  const other = await openClient(t, browser, long.url, V1);
  await loginOk(other.page, "user@example.com", "user-password");
  assert.deepEqual(
    await other.page.evaluate(() => [client.hasRole("user"), client.hasRole("admin"), client.claims().roles]),
    [true, false, ["user"]],
  );
  assert.deepEqual(pageErrors(page), []);
});

test("v1: no refresh: the session ends at exp with SESSION_EXPIRED, no request with an expired token", async (t) => {
  await resetServer(short.url);
  const { page, requests } = await openClient(t, browser, short.url, V1);
  const s = await loginOk(page, "user@example.com", "user-password");
  assert.equal(s.refreshToken, null);

  // Use the session until shortly before exp. The companion server reads the float exp
  // truncated to the second (www/src/tokens.rs: "slightly stricter than the float"; PyJWT, like
  // the seed, accepts the token up to its exp), so stop short of the whole second: a 401 there
  // would be the server refusing a token the client rightly holds as valid.
  const calls = await page.evaluate(async (stopAt) => {
    const statuses = [];
    while (Date.now() < stopAt) {
      statuses.push((await client.fetch("/api/v1/me")).status);
      await window.__sleep(150);
    }
    return statuses;
  }, Math.floor(jwtClaims(s.accessToken).exp) * 1000 - 400);
  assert.ok(calls.length >= 3 && calls.every((status) => status === 200), JSON.stringify(calls));

  const log = await waitForEvent(page, "SESSION_EXPIRED", { timeout: 5_000 });
  const expired = log.find((e) => e.event === "SESSION_EXPIRED");
  assert.ok(expired.at >= s.expiresAt - 100, `SESSION_EXPIRED at ${expired.at}, exp ${s.expiresAt}: too early`);
  assert.ok(expired.at <= s.expiresAt + 2000, `SESSION_EXPIRED at ${expired.at}, exp ${s.expiresAt}: too late`);
  assert.deepEqual(log.map((e) => e.event), ["INITIAL_SESSION", "SIGNED_IN", "SESSION_EXPIRED"]);
  assert.deepEqual(
    await page.evaluate(async () => [client.session(), client.isAuthenticated(), await client.getAccessToken()]),
    [null, false, null],
  );
  await requests.settled();
  const stats = await getStats(short.url);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  assert.deepEqual(
    Object.keys(stats.routes).filter((k) => k !== "other").sort(),
    ["GET /api/v1/me", "POST /api/v1/login"],
    "nothing but login and me: no refresh attempt",
  );
  assert.equal(assertNoExpiredTokenSent(requests, ["/api/v1/me"]), calls.length);
  const afterwards = await me(page);
  assert.equal(afterwards.ok, false);
  assert.equal(afterwards.error.code, "not_authenticated");
  assert.deepEqual(pageErrors(page), []);
});

test("v1: the session survives a page reload (storage: local)", async (t) => {
  await resetServer(long.url);
  const options = { ...V1, storage: "local" };
  const { page } = await openClient(t, browser, long.url, options);
  const s = await loginOk(page, "user@example.com", "user-password");

  await page.reload();
  await loadPackage(page);
  const initial = await createClient(page, { baseUrl: long.url, ...options });
  assert.equal(initial?.event, "INITIAL_SESSION");
  assert.deepEqual(initial.session, s);
  assert.deepEqual(await session(page), s);
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "user@example.com");
  assert.equal(route(await getStats(long.url), "POST /api/v1/login").count, 1);
});

test("v1: logout (no server endpoint) clears local state without a request", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url, V1);
  await loginOk(page, "user@example.com", "user-password");
  const before = requests.length;
  const out = await page.evaluate(() => window.__try(() => client.logout()));
  assert.deepEqual(out, { ok: true, value: undefined });
  assert.deepEqual(requests.slice(before).map((q) => `${q.method} ${q.path}`), []);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN", "SIGNED_OUT"]);
  assert.deepEqual(
    await page.evaluate(async () => [client.session(), client.isAuthenticated(), client.claims(), client.expiresAt(), await client.getAccessToken()]),
    [null, false, null, null, null],
  );
});

test("v1: bad credentials and an inactive account", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, V1);
  const bad = await login(page, "user@example.com", "wrong-password");
  assert.equal(bad.ok, false);
  assert.deepEqual([bad.error.isAuthError, bad.error.code, bad.error.status], [true, "invalid_credentials", 401]);
  assert.ok(!bad.error.string.includes("wrong-password"));
  const inactive = await login(page, "inactive@example.com", "inactive-password");
  assert.equal(inactive.ok, false);
  assert.deepEqual([inactive.error.isAuthError, inactive.error.code, inactive.error.status], [true, "account_disabled", 403]);
  assert.equal(await session(page), null);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"]);
  assert.deepEqual(route(await getStats(long.url), "POST /api/v1/login").statuses, { 401: 1, 403: 1 });
});

test("v1: a 403 is passed through, the session kept", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, V1);
  const s = await loginOk(page, "user@example.com", "user-password");
  await armFault(long.url, { endpoint: "me", status: 403 });
  const r = await clientFetch(page, "/api/v1/me");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 403);
  assert.deepEqual(route(await getStats(long.url), "GET /api/v1/me").statuses, { 403: 1 });
  assert.deepEqual(await session(page), s);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);
});

test("v1: a 401 with nothing to refresh with: no replay; fetch() resolves with it, me() rejects", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, V1);
  await loginOk(page, "user@example.com", "user-password");
  await armFault(long.url, { endpoint: "me", status: 401 });
  const r = await clientFetch(page, "/api/v1/me");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 401);
  assert.deepEqual(route(await getStats(long.url), "GET /api/v1/me").statuses, { 401: 1 }, "no replay");

  await armFault(long.url, { endpoint: "me", status: 401 });
  const who = await me(page);
  assert.equal(who.ok, false);
  assert.deepEqual([who.error.isAuthError, who.error.code, who.error.status], [true, "not_authenticated", 401]);
  assert.deepEqual(route(await getStats(long.url), "GET /api/v1/me").statuses, { 401: 2 }, "no replay");
  assert.ok(!(await eventNames(page)).includes("TOKEN_REFRESHED"));
});

test("v1: a foreign origin never receives the token", async (t) => {
  await resetServer(long.url);
  const foreign = await startForeignOrigin(t);
  const { page, requests } = await openClient(t, browser, long.url, V1);
  const s = await loginOk(page, "user@example.com", "user-password");
  const r = await clientFetch(page, `${foreign.origin}/api/v1/me`);
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 200);
  assert.ok(foreign.seen.some((q) => q.url === "/api/v1/me"), "the request arrived");
  assert.deepEqual(foreign.withAuthorization(), []);
  assert.deepEqual(foreign.preflightsAskingForAuthorization(), []);
  assert.equal((await clientFetch(page, "/api/v1/me")).value?.status, 200);
  await requests.settled();
  assert.equal(
    requests.find((q) => q.origin === new URL(long.url).origin && q.path === "/api/v1/me")?.authorization,
    `Bearer ${s.accessToken}`,
  );
});

test("v1: the server goes down and comes back: the session is kept and works again", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tokenkeeper-e2e-down-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const args = ["--profile", "v1", "--db", join(dir, "server.db"), "--secret", FIXED_SECRET, "--access-ttl", "60"];
  let server = await startTestServer(args);
  t.after(() => server.stop());
  const { port } = new URL(server.url);

  const { page } = await openClient(t, browser, server.url, V1);
  const s = await loginOk(page, "user@example.com", "user-password");
  assert.equal(await server.stop(), 0);

  const down = await me(page);
  assert.equal(down.ok, false);
  assert.deepEqual([down.error.isAuthError, down.error.code, down.error.status], [true, "network", undefined]);
  const fetched = await clientFetch(page, "/api/v1/me");
  assert.equal(fetched.ok, false, "fetch() rejects when no response came");
  assert.equal(fetched.error.code, "network");
  assert.equal(await page.evaluate(() => client.isAuthenticated()), true);
  assert.deepEqual(await session(page), s, "the session is kept");

  server = await startTestServer([...args, "--addr", `127.0.0.1:${port}`]);
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "user@example.com");
  assert.deepEqual(await session(page), s);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);
  assert.deepEqual(route(await getStats(server.url), "GET /api/v1/me").statuses, { 200: 1 });
});
