// AuthClient against the companion server's minimal profile (FastAPI seeds 002/004): form login
// answering `expires_in`, GET /users/me, no logout endpoint. The seeds' login gives no refresh
// token, so the session ends at exp; with --minimal-refresh-token it carries one, used through
// POST /auth/refresh?refresh_token=… (no rotation).
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
  countStatus,
  createClient,
  eventNames,
  events,
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
  waitUntil,
} from "./client-helpers.mjs";

const MINIMAL = { profile: "minimal" };
let browser;
let long; // refresh tokens, 5-minute access tokens
let short; // refresh tokens, 3-second access tokens
let bare; // the seeds' shape: no refresh token, 3-second access tokens

before(async () => {
  [browser, long, short, bare] = await Promise.all([
    launchChromium(),
    startTestServer(["--profile", "minimal", "--minimal-refresh-token", "--access-ttl", "300", "--refresh-ttl", "600"]),
    startTestServer(["--profile", "minimal", "--minimal-refresh-token", "--access-ttl", "3", "--refresh-ttl", "60"]),
    startTestServer(["--profile", "minimal", "--access-ttl", "3"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), long?.stop(), short?.stop(), bare?.stop()]);
});

test("minimal: login, me(), claims and role checks", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, MINIMAL);
  const s = await loginOk(page, "user", "user-password");
  const claims = jwtClaims(s.accessToken);
  assert.equal(claims.sub, "user");
  assert.equal(claims.role, "user");
  assert.equal(claims.type, "access");
  assert.deepEqual(s.claims, claims);
  assert.equal(typeof s.refreshToken, "string", "--minimal-refresh-token gives a refresh token");
  assert.equal(typeof s.expiresAt, "number");
  // From exp (or expires_in) on this device's clock: never later than exp, at most ~1 s earlier.
  assert.ok(
    s.expiresAt <= claims.exp * 1000 && s.expiresAt > claims.exp * 1000 - 1500,
    `expiresAt ${s.expiresAt} vs exp ${claims.exp}`,
  );

  const state = await page.evaluate(() => ({
    session: window.__plain(client.session()),
    isAuthenticated: client.isAuthenticated(),
    claims: client.claims(),
    expiresAt: client.expiresAt(),
    roles: [client.hasRole("user"), client.hasRole("admin"), client.hasAnyRole(["admin", "user"]), client.hasAllRoles(["user", "admin"])],
  }));
  assert.deepEqual(state, {
    session: s,
    isAuthenticated: true,
    claims,
    expiresAt: s.expiresAt,
    roles: [true, false, true, false],
  });

  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.username, "user");
  assert.equal(who.value.email, "user@example.com");
  assert.equal(who.value.is_active, true);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);

  // The admin, by email, on the seeds' shape: no refresh token, so null (never undefined).
  await resetServer(bare.url);
  const other = await openClient(t, browser, bare.url, MINIMAL);
  const a = await loginOk(other.page, "admin@example.com", "admin-password");
  assert.equal(a.refreshToken, null);
  assert.equal(a.claims.sub, "admin");
  assert.deepEqual(
    await other.page.evaluate(() => [client.hasRole("admin"), client.hasRole("user"), client.session().refreshToken]),
    [true, false, null],
  );

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/login").statuses, { 200: 1 });
  assert.deepEqual(route(stats, "GET /users/me").statuses, { 200: 1 });
  assert.deepEqual(pageErrors(page), []);
});

test("minimal: refreshes by query before exp with 3-second tokens; no request ever carries an expired token", async (t) => {
  await resetServer(short.url);
  const { page, requests } = await openClient(t, browser, short.url, MINIMAL);
  const s0 = await loginOk(page, "user", "user-password");

  // Idle: the timer alone refreshes before exp (no API call asks for a token).
  let log = await waitForEvent(page, "TOKEN_REFRESHED", { timeout: 10_000 });
  const firstRefresh = log.find((e) => e.event === "TOKEN_REFRESHED");
  assert.ok(firstRefresh.at < s0.expiresAt, `idle refresh at ${firstRefresh.at}, exp ${s0.expiresAt}`);
  assert.equal(requests.filter((q) => q.path === "/users/me").length, 0);

  // Busy: keep calling the API through the client while it refreshes twice more.
  await page.evaluate(() => {
    window.calls = [];
    window.stopLoop = false;
    window.loop = (async () => {
      for (let i = 0; !window.stopLoop; i++) {
        const kind = i % 3 === 2 ? "me" : "fetch";
        const r = await window.__try(async () =>
          kind === "me" ? ((await client.me()), 200) : (await client.fetch("/users/me")).status,
        );
        window.calls.push({ kind, r });
        await window.__sleep(150);
      }
    })();
  });
  log = await waitForEvent(page, "TOKEN_REFRESHED", { count: 3, timeout: 15_000 });
  await page.evaluate(() => {
    window.stopLoop = true;
    return window.loop;
  });
  const calls = await page.evaluate(() => window.calls);
  const stats = await getStats(short.url);
  await requests.settled();

  assert.deepEqual(calls.filter((c) => !c.r.ok || c.r.value !== 200), []);
  const names = log.map((e) => e.event);
  for (const unwanted of ["SESSION_EXPIRED", "SIGNED_OUT", "REFRESH_FAILED"]) {
    assert.ok(!names.includes(unwanted), `${unwanted} in ${names}`);
  }
  const chain = log.filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED");
  for (let i = 1; i < chain.length; i++) {
    const [prev, next] = [chain[i - 1].session, chain[i].session];
    assert.ok(chain[i].at < prev.expiresAt, `refresh ${i} at ${chain[i].at} after exp ${prev.expiresAt}`);
    assert.notEqual(next.accessToken, prev.accessToken);
    assert.equal(next.refreshToken, s0.refreshToken, "the refresh reply has none: the old one is kept");
  }
  // The refresh token went in the query string, as the profile says.
  const refreshRequests = requests.filter((q) => q.path === "/auth/refresh");
  assert.ok(refreshRequests.length >= 3);
  for (const q of refreshRequests) {
    assert.equal(q.method, "POST");
    assert.equal(new URL(q.url).searchParams.get("refresh_token"), s0.refreshToken);
  }

  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  const refreshes = route(stats, "POST /auth/refresh");
  assert.ok(refreshes.count >= 3 && refreshes.count <= 4, JSON.stringify(refreshes));
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), refreshes.count);
  assert.equal(countStatus(stats, "GET /users/me", 200), calls.length);
  assert.equal(assertNoExpiredTokenSent(requests, ["/users/me"]), calls.length);
  assert.deepEqual(pageErrors(page), []);
});

test("minimal without a refresh token: the session ends at exp with SESSION_EXPIRED", async (t) => {
  await resetServer(bare.url);
  const { page, requests } = await openClient(t, browser, bare.url, MINIMAL);
  const s = await loginOk(page, "user", "user-password");
  assert.equal(s.refreshToken, null);

  // Use the session until shortly before exp (closer, a request could be sent with a valid token
  // and arrive expired: that race is not what this checks).
  const calls = await page.evaluate(async (stopAt) => {
    const statuses = [];
    while (Date.now() < stopAt) {
      statuses.push((await client.fetch("/users/me")).status);
      await window.__sleep(150);
    }
    return statuses;
  }, s.expiresAt - 400);
  assert.ok(calls.length >= 3 && calls.every((status) => status === 200), JSON.stringify(calls));

  const log = await waitForEvent(page, "SESSION_EXPIRED", { timeout: 5_000 });
  const expired = log.find((e) => e.event === "SESSION_EXPIRED");
  assert.ok(expired.at >= s.expiresAt - 100, `SESSION_EXPIRED at ${expired.at}, exp ${s.expiresAt}: too early`);
  assert.ok(expired.at <= s.expiresAt + 2000, `SESSION_EXPIRED at ${expired.at}, exp ${s.expiresAt}: too late`);
  assert.equal(expired.session, null);
  assert.deepEqual(log.map((e) => e.event), ["INITIAL_SESSION", "SIGNED_IN", "SESSION_EXPIRED"]);

  const state = await page.evaluate(async () => ({
    session: client.session(),
    isAuthenticated: client.isAuthenticated(),
    token: await client.getAccessToken(),
  }));
  assert.deepEqual(state, { session: null, isAuthenticated: false, token: null });

  // Signed out now: the next call goes without a token (never with the expired one).
  const r = await clientFetch(page, "/users/me");
  assert.equal(r.value?.status, 401);
  await requests.settled();
  const last = requests.filter((q) => q.path === "/users/me").at(-1);
  assert.equal(last.authorization, null);

  const stats = await getStats(bare.url);
  assert.equal(route(stats, "POST /auth/refresh").count, 0, "nothing to refresh with");
  assert.deepEqual(route(stats, "GET /users/me").statuses, { 200: calls.length, 401: 1 });
  assert.equal(assertNoExpiredTokenSent(requests, ["/users/me"]), calls.length);
  assert.deepEqual(pageErrors(page), []);
});

test("minimal: the session survives a page reload (storage: local)", async (t) => {
  await resetServer(long.url);
  const options = { ...MINIMAL, storage: "local" };
  const { page } = await openClient(t, browser, long.url, options);
  const s = await loginOk(page, "user", "user-password");

  await page.reload();
  await loadPackage(page);
  const initial = await createClient(page, { baseUrl: long.url, ...options });
  assert.equal(initial?.event, "INITIAL_SESSION");
  assert.deepEqual(initial.session, s);
  assert.deepEqual(await session(page), s);
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.username, "user");
  const stats = await getStats(long.url);
  assert.equal(route(stats, "POST /auth/login").count, 1);
  assert.equal(route(stats, "POST /auth/refresh").count, 0);
});

test("minimal: logout (no server endpoint) clears local state without a request", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url, MINIMAL);
  const s = await loginOk(page, "user", "user-password");
  const before = requests.length;

  const out = await page.evaluate(() => window.__try(() => client.logout()));
  assert.deepEqual(out, { ok: true, value: undefined });
  assert.deepEqual(requests.slice(before).map((q) => `${q.method} ${q.path}`), [], "no request");
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN", "SIGNED_OUT"]);
  const state = await page.evaluate(async () => ({
    session: client.session(),
    isAuthenticated: client.isAuthenticated(),
    claims: client.claims(),
    expiresAt: client.expiresAt(),
    token: await client.getAccessToken(),
    stored: Object.keys(localStorage).map((k) => localStorage.getItem(k)),
  }));
  assert.ok(state.stored.every((v) => !v.includes(s.accessToken)), "the token is gone from storage");
  const stats = await getStats(long.url);
  assert.deepEqual(Object.keys(stats.routes).filter((k) => k !== "other"), ["POST /auth/login"]);
  // Last, so that the checks above run either way: absent values are null, never undefined.
  assert.deepEqual({ ...state, stored: [] }, { session: null, isAuthenticated: false, claims: null, expiresAt: null, token: null, stored: [] });
});

test("minimal: bad credentials and an inactive account", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, MINIMAL);
  const bad = await login(page, "user", "wrong-password");
  assert.equal(bad.ok, false);
  assert.deepEqual([bad.error.isAuthError, bad.error.code, bad.error.status], [true, "invalid_credentials", 401]);
  assert.ok(!bad.error.string.includes("wrong-password"));

  // The seeds answer an inactive login with 400 "Inactive user".
  const inactive = await login(page, "inactive", "inactive-password");
  assert.equal(inactive.ok, false);
  assert.deepEqual([inactive.error.isAuthError, inactive.error.code, inactive.error.status], [true, "account_disabled", 400]);

  assert.equal(await session(page), null);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"]);
  assert.deepEqual(route(await getStats(long.url), "POST /auth/login").statuses, { 400: 1, 401: 1 });
});

test("minimal: a 403 is passed through without a refresh", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, MINIMAL);
  const s = await loginOk(page, "user", "user-password");
  await armFault(long.url, { endpoint: "me", status: 403 });
  const r = await clientFetch(page, "/users/me");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 403);
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /users/me").statuses, { 403: 1 });
  assert.equal(route(stats, "POST /auth/refresh").count, 0);
  assert.deepEqual(await session(page), s);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);
});

test("minimal: a 401 is answered by one refresh (by query) and one replay", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url, MINIMAL);
  const s0 = await loginOk(page, "user", "user-password");
  await armFault(long.url, { endpoint: "me", status: 401 });
  const r = await clientFetch(page, "/users/me");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 200);
  assert.equal(r.value.body.username, "user");

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /users/me").statuses, { 200: 1, 401: 1 });
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 });
  const s1 = await session(page);
  assert.notEqual(s1.accessToken, s0.accessToken);
  assert.equal(s1.refreshToken, s0.refreshToken);
  await requests.settled();
  assert.deepEqual(
    requests.filter((q) => q.path === "/users/me").map((q) => q.authorization),
    [`Bearer ${s0.accessToken}`, `Bearer ${s1.accessToken}`],
  );
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED"]);
  assert.deepEqual(pageErrors(page), []);
});

test("minimal: a foreign origin never receives the token", async (t) => {
  await resetServer(long.url);
  const foreign = await startForeignOrigin(t);
  const { page, requests } = await openClient(t, browser, long.url, MINIMAL);
  const s = await loginOk(page, "user", "user-password");
  const r = await clientFetch(page, `${foreign.origin}/users/me`);
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 200);
  assert.ok(foreign.seen.some((q) => q.url === "/users/me"), "the request arrived");
  assert.deepEqual(foreign.withAuthorization(), []);
  assert.deepEqual(foreign.preflightsAskingForAuthorization(), []);
  const own = await clientFetch(page, "/users/me");
  assert.equal(own.value?.status, 200);
  await requests.settled();
  assert.equal(requests.find((q) => q.origin === new URL(long.url).origin && q.path === "/users/me")?.authorization, `Bearer ${s.accessToken}`);
});

test("minimal: the server goes down and comes back: session kept, then refreshed", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tokenkeeper-e2e-down-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const args = [
    "--profile", "minimal", "--minimal-refresh-token",
    "--db", join(dir, "server.db"), "--secret", FIXED_SECRET, "--access-ttl", "5", "--refresh-ttl", "120",
  ];
  let server = await startTestServer(args);
  t.after(() => server.stop());
  const { port } = new URL(server.url);

  const { page } = await openClient(t, browser, server.url, MINIMAL);
  const s0 = await loginOk(page, "user", "user-password");
  assert.equal(await server.stop(), 0);

  const r = await page.evaluate(() => window.__try(() => client.refresh()));
  assert.equal(r.ok, false);
  assert.deepEqual([r.error.isAuthError, r.error.code, r.error.status], [true, "network", undefined]);
  assert.equal(await page.evaluate(() => client.isAuthenticated()), true);

  await waitUntil(page, s0.expiresAt + 300);
  let names = await eventNames(page);
  assert.ok(!names.includes("SESSION_EXPIRED") && !names.includes("SIGNED_OUT"), `events: ${names}`);
  const kept = await session(page);
  assert.ok(kept !== null, "the session is kept while the server is down");
  assert.equal(kept.refreshToken, s0.refreshToken);

  server = await startTestServer([...args, "--addr", `127.0.0.1:${port}`]);
  let how = "by itself";
  try {
    await waitForEvent(page, "TOKEN_REFRESHED", { timeout: 4_000 });
  } catch {
    how = "on getAccessToken()";
  }
  const token = await page.evaluate(() =>
    window.__try(() => window.__within(client.getAccessToken(), 15_000, "getAccessToken()")),
  );
  assert.ok(token.ok, JSON.stringify(token.error));
  assert.notEqual(token.value, s0.accessToken);
  assert.ok(jwtClaims(token.value).exp * 1000 > Date.now());
  names = await eventNames(page);
  assert.ok(names.includes("TOKEN_REFRESHED") && !names.includes("SESSION_EXPIRED"), `events: ${names}`);
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  const stats = await getStats(server.url);
  assert.ok(countStatus(stats, "POST /auth/refresh", 200) >= 1, JSON.stringify(stats.routes));
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  t.diagnostic(`refreshed ${how}`);
});
