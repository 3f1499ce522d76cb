// AuthClient against the companion server's standard profile (FastAPI seeds 000/003): form login,
// refresh with rotation, bearer logout, GET /auth/me. Two servers: one with long-lived tokens for
// the tests that must not race an expiry, one with 3-second tokens for the refresh cycle.
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

let browser;
let long; // 5-minute access tokens
let short; // 3-second access tokens

before(async () => {
  [browser, long, short] = await Promise.all([
    launchChromium(),
    startTestServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
    startTestServer(["--access-ttl", "3", "--refresh-ttl", "60"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), long?.stop(), short?.stop()]);
});

test("standard: login, me(), claims and role checks", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  const initial = (await events(page))[0];
  assert.deepEqual([initial.event, initial.session], ["INITIAL_SESSION", null]);

  const s = await loginOk(page, "admin", "admin-password");
  const claims = jwtClaims(s.accessToken);
  assert.equal(claims.type, "access");
  assert.equal(claims.role, "admin");
  assert.equal(claims.email, "admin@example.com");
  assert.deepEqual(s.claims, claims);
  // From exp, on this device's clock: the client reads a whole-second iat as the end of that
  // second (the server may be ahead by up to 1 s), so expiresAt may be up to ~1 s before exp.
  assert.equal(typeof s.expiresAt, "number");
  assert.ok(
    s.expiresAt <= claims.exp * 1000 && s.expiresAt > claims.exp * 1000 - 1500,
    `expiresAt ${s.expiresAt} vs exp ${claims.exp}`,
  );
  assert.equal(typeof s.refreshToken, "string");
  assert.equal(jwtClaims(s.refreshToken).type, "refresh");

  const state = await page.evaluate(async () => ({
    session: window.__plain(client.session()),
    isAuthenticated: client.isAuthenticated(),
    claims: client.claims(),
    expiresAt: client.expiresAt(),
    expiresAtType: typeof client.expiresAt(),
    token: await client.getAccessToken(),
    admin: client.hasRole("admin"),
    user: client.hasRole("user"),
    anyUserAdmin: client.hasAnyRole(["user", "admin"]),
    anyUserOther: client.hasAnyRole(["user", "other"]),
    allAdmin: client.hasAllRoles(["admin"]),
    allAdminUser: client.hasAllRoles(["admin", "user"]),
  }));
  assert.deepEqual(state, {
    session: s,
    isAuthenticated: true,
    claims,
    expiresAt: s.expiresAt,
    expiresAtType: "number",
    token: s.accessToken,
    admin: true,
    user: false,
    anyUserAdmin: true,
    anyUserOther: false,
    allAdmin: true,
    allAdminUser: false,
  });

  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "admin@example.com");
  assert.equal(who.value.username, "admin");
  assert.equal(who.value.role, "admin");

  const log = await events(page);
  assert.deepEqual(log.map((e) => e.event), ["INITIAL_SESSION", "SIGNED_IN"]);
  assert.deepEqual(log[1].session, s);

  // A plain user, in another context: the same checks come out the other way.
  const other = await openClient(t, browser, long.url);
  await loginOk(other.page, "user@example.com", "user-password"); // the email works too
  const roles = await other.page.evaluate(() => [
    client.hasRole("user"),
    client.hasRole("admin"),
    client.hasAnyRole(["admin"]),
    client.hasAllRoles(["user"]),
    client.claims().email,
  ]);
  assert.deepEqual(roles, [true, false, false, true, "user@example.com"]);

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/login").statuses, { 200: 2 });
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 200: 1 });
  assert.equal(route(stats, "POST /auth/refresh").count, 0);
  assert.deepEqual(pageErrors(page), []);
});

test("standard: refreshes before exp with 3-second tokens; no request ever carries an expired token", async (t) => {
  await resetServer(short.url);
  const { page, requests } = await openClient(t, browser, short.url);
  const s0 = await loginOk(page, "user", "user-password");

  // Idle: the timer alone refreshes before exp (no API call asks for a token).
  let log = await waitForEvent(page, "TOKEN_REFRESHED", { timeout: 10_000 });
  const firstRefresh = log.find((e) => e.event === "TOKEN_REFRESHED");
  assert.ok(firstRefresh.at < s0.expiresAt, `idle refresh at ${firstRefresh.at}, exp ${s0.expiresAt}`);
  assert.equal(requests.filter((q) => q.path === "/dashboard" || q.path === "/auth/me").length, 0);

  // Busy: keep calling the API through the client while it refreshes twice more.
  await page.evaluate(() => {
    window.calls = [];
    window.stopLoop = false;
    window.loop = (async () => {
      for (let i = 0; !window.stopLoop; i++) {
        const kind = i % 3 === 2 ? "me" : "fetch";
        const r = await window.__try(async () =>
          kind === "me" ? ((await client.me()), 200) : (await client.fetch("/dashboard")).status,
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

  const bad = calls.filter((c) => !c.r.ok || c.r.value !== 200);
  assert.deepEqual(bad, [], "every call through the client succeeded");
  assert.ok(calls.length >= 10, `the loop ran (${calls.length} calls)`);

  const names = log.map((e) => e.event);
  for (const unwanted of ["SESSION_EXPIRED", "SIGNED_OUT", "REFRESH_FAILED"]) {
    assert.ok(!names.includes(unwanted), `${unwanted} in ${names}`);
  }
  // Each refresh landed before the token it replaced expired, and rotated both tokens.
  const chain = log.filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED");
  assert.equal(chain[0].event, "SIGNED_IN");
  for (let i = 1; i < chain.length; i++) {
    const [prev, next] = [chain[i - 1].session, chain[i].session];
    assert.ok(chain[i].at < prev.expiresAt, `refresh ${i} at ${chain[i].at} after exp ${prev.expiresAt}`);
    assert.notEqual(next.accessToken, prev.accessToken);
    assert.notEqual(next.refreshToken, prev.refreshToken, "standard rotates the refresh token");
    assert.ok(next.expiresAt > prev.expiresAt);
  }

  // The server agrees: no 401 anywhere, every refresh 200, no refresh loop.
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  const refreshes = route(stats, "POST /auth/refresh");
  assert.ok(refreshes.count >= 3 && refreshes.count <= 4, `refreshes: ${JSON.stringify(refreshes)}`);
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), refreshes.count);
  assert.equal(countStatus(stats, "GET /dashboard", 200), calls.filter((c) => c.kind === "fetch").length);
  assert.equal(countStatus(stats, "GET /auth/me", 200), calls.filter((c) => c.kind === "me").length);
  const checked = assertNoExpiredTokenSent(requests, ["/dashboard", "/auth/me"]);
  assert.equal(checked, calls.length, "every API call carried a token");
  assert.deepEqual(pageErrors(page), []);
});

test("standard: the session survives a page reload (storage: local)", async (t) => {
  await resetServer(long.url);
  const options = { storage: "local" };
  const { page } = await openClient(t, browser, long.url, options);
  const s = await loginOk(page, "user", "user-password");

  await page.reload();
  await loadPackage(page);
  const initial = await createClient(page, { baseUrl: long.url, ...options });
  assert.equal(initial?.event, "INITIAL_SESSION");
  assert.deepEqual(initial.session, s, "INITIAL_SESSION carries the stored session");
  assert.deepEqual(await session(page), s);
  assert.equal(await page.evaluate(() => client.isAuthenticated()), true);
  assert.equal(await page.evaluate(() => client.getAccessToken()), s.accessToken);
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "user@example.com");

  const stats = await getStats(long.url);
  assert.equal(route(stats, "POST /auth/login").count, 1, "no second login");
  assert.equal(route(stats, "POST /auth/refresh").count, 0, "no refresh needed");
  assert.deepEqual(pageErrors(page), []);
});

test("standard: logout revokes the session on the server and clears local state", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");

  const out = await page.evaluate(() => window.__try(() => client.logout()));
  assert.deepEqual(out, { ok: true, value: undefined });
  const log = await events(page);
  assert.deepEqual(log.map((e) => e.event), ["INITIAL_SESSION", "SIGNED_IN", "SIGNED_OUT"]);
  assert.equal(log[2].session, null);

  const state = await page.evaluate(async () => ({
    session: client.session(),
    isAuthenticated: client.isAuthenticated(),
    claims: client.claims(),
    expiresAt: client.expiresAt(),
    token: await client.getAccessToken(),
    role: client.hasRole("user"),
    stored: Object.keys(localStorage).map((k) => localStorage.getItem(k)),
  }));
  for (const value of state.stored) {
    assert.ok(!value.includes(s.accessToken) && !value.includes(s.refreshToken), "tokens left in storage");
  }

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 1 });
  // The server really revoked the session: both tokens are refused now.
  const meRaw = await fetch(`${long.url}/auth/me`, { headers: { authorization: `Bearer ${s.accessToken}` } });
  assert.equal(meRaw.status, 401);
  assert.equal((await meRaw.json()).detail, "Token has been revoked");
  const refreshRaw = await fetch(`${long.url}/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: s.refreshToken }),
  });
  assert.equal(refreshRaw.status, 401);

  const after = await me(page);
  assert.equal(after.ok, false);
  assert.equal(after.error.code, "not_authenticated");
  assert.deepEqual(pageErrors(page), []);
  // Last, so that the checks above run either way: absent values are null, never undefined.
  assert.deepEqual(
    { ...state, stored: undefined },
    { session: null, isAuthenticated: false, claims: null, expiresAt: null, token: null, role: false, stored: undefined },
  );
});

test("standard: bad credentials reject with invalid_credentials and leave no session", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  for (const [username, password] of [
    ["user", "not-the-password"],
    ["nobody@example.com", "whatever-password"],
  ]) {
    const result = await login(page, username, password);
    assert.equal(result.ok, false);
    const e = result.error;
    assert.deepEqual(
      [e.isAuthError, e.isError, e.name, e.code, e.status],
      [true, true, "AuthError", "invalid_credentials", 401],
    );
    assert.ok(!e.string.includes(password), `the password is in the message: ${e.string}`);
  }
  assert.equal(await session(page), null);
  assert.equal(await page.evaluate(() => client.isAuthenticated()), false);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"]);
  assert.deepEqual(route(await getStats(long.url), "POST /auth/login").statuses, { 401: 2 });
});

test("standard: an inactive account rejects with account_disabled (403)", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  const result = await login(page, "inactive", "inactive-password");
  assert.equal(result.ok, false);
  assert.deepEqual([result.error.isAuthError, result.error.code, result.error.status], [true, "account_disabled", 403]);
  assert.equal(await session(page), null);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"]);
  assert.deepEqual(route(await getStats(long.url), "POST /auth/login").statuses, { 403: 1 });
});

test("standard: a 403 is passed through without a refresh", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");

  const r = await clientFetch(page, "/admin/users");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 403);
  assert.equal(r.value.body.detail, "Admin access required");

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /admin/users").statuses, { 403: 1 });
  assert.equal(route(stats, "POST /auth/refresh").count, 0);
  assert.deepEqual(await session(page), s, "the session is untouched");
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);
  await requests.settled();
  const sent = requests.filter((q) => q.path === "/admin/users");
  assert.deepEqual(sent.map((q) => q.authorization), [`Bearer ${s.accessToken}`]);
});

test("standard: a 401 is answered by one refresh and one replay", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url);
  const s0 = await loginOk(page, "user", "user-password");

  // The server refuses the next /auth/me once (a 401 with WWW-Authenticate: Bearer).
  await armFault(long.url, { endpoint: "me", status: 401 });
  const r = await clientFetch(page, "/auth/me");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.status, 200);
  assert.equal(r.value.body.email, "user@example.com");

  let stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 200: 1, 401: 1 });
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 });
  const s1 = await session(page);
  assert.notEqual(s1.accessToken, s0.accessToken);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED"]);
  await requests.settled();
  assert.deepEqual(
    requests.filter((q) => q.path === "/auth/me").map((q) => q.authorization),
    [`Bearer ${s0.accessToken}`, `Bearer ${s1.accessToken}`],
    "sent with the old token, replayed with the new one",
  );

  // The same through me().
  await armFault(long.url, { endpoint: "me", status: 401 });
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "user@example.com");
  stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 200: 2, 401: 2 });
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 2 });
  assert.deepEqual(pageErrors(page), []);
});

test("standard: the 401 replay sends the same method and body again (string + init, and a Request)", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url);
  const results = [];
  for (const form of ["init", "request"]) {
    // The second login replaces the session and logs the old one out on the server with a
    // request of its own: wait for its answer, so that it cannot take the fault armed below.
    const replaced =
      form === "request" && page.waitForResponse((r) => new URL(r.url()).pathname === "/auth/logout");
    const s = await loginOk(page, "user", "user-password");
    await replaced;
    const body = JSON.stringify({ refresh_token: s.refreshToken, form });
    // POST /auth/logout is a bearer endpoint with a JSON body; refuse it once.
    await armFault(long.url, { endpoint: "logout", status: 401 });
    const r = await page.evaluate(
      ([form, body]) =>
        window.__try(async () => {
          const init = { method: "POST", headers: { "content-type": "application/json" }, body };
          const response = await (form === "init"
            ? client.fetch("/auth/logout", init)
            : client.fetch(new Request("/auth/logout", init)));
          return { status: response.status, body: await response.json() };
        }),
      [form, body],
    );
    await requests.settled();
    const sent = requests.filter((q) => q.path === "/auth/logout" && q.body?.includes(`"form":"${form}"`));
    results.push({
      form,
      result: r.ok ? r.value : r.error,
      sent: sent.map((q) => [q.method, q.body === body]),
      tokens: sent.map((q) => q.authorization !== null),
    });
  }
  const stats = await getStats(long.url);
  assert.deepEqual(results, [
    { form: "init", result: { status: 200, body: { message: "Successfully logged out" } }, sent: [["POST", true], ["POST", true]], tokens: [true, true] },
    { form: "request", result: { status: 200, body: { message: "Successfully logged out" } }, sent: [["POST", true], ["POST", true]], tokens: [true, true] },
  ]);
  // Three 401s: the armed fault twice, and the second login revoking the first session, whose
  // tokens the replayed logout had already revoked on the server.
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 2, 401: 3 });
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 2 });
});

test("standard: a 401 whose refresh is refused: no replay, the session is cleared", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");

  // Another device logs this session out: the server revokes the access and refresh tokens.
  const raw = await fetch(`${long.url}/auth/logout`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.accessToken}` },
  });
  assert.equal(raw.status, 200);

  const r = await clientFetch(page, "/auth/me");
  assert.ok(r.ok, `fetch() resolves with the 401: ${JSON.stringify(r.error)}`);
  assert.equal(r.value.status, 401);
  assert.equal(r.value.body.detail, "Token has been revoked");

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 401: 1 }, "no replay");
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 401: 1 }, "one refresh attempt");
  assert.equal(await session(page), null, "a refused refresh clears the session");
  assert.equal(await page.evaluate(() => client.isAuthenticated()), false);
  const names = await eventNames(page);
  assert.equal(names.at(-1), "SIGNED_OUT", `events: ${names}`);
  assert.ok(!names.includes("TOKEN_REFRESHED"));
  assert.deepEqual(pageErrors(page), []);
});

test("standard: a foreign origin never receives the token", async (t) => {
  await resetServer(long.url);
  const foreign = await startForeignOrigin(t);
  const { page, requests } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");

  const plain = await clientFetch(page, `${foreign.origin}/data`);
  assert.ok(plain.ok, JSON.stringify(plain.error));
  assert.deepEqual(plain.value, { status: 200, body: { foreign: true, path: "/data" } });
  const withHeaders = await clientFetch(page, `${foreign.origin}/with-headers`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-app": "1" },
    body: "{}",
  });
  assert.ok(withHeaders.ok, JSON.stringify(withHeaders.error));
  assert.equal(withHeaders.value.status, 200);

  assert.ok(foreign.seen.some((r) => r.url === "/data" && r.method === "GET"), "the request arrived");
  assert.ok(foreign.seen.some((r) => r.url === "/with-headers" && r.method === "POST"));
  assert.deepEqual(foreign.withAuthorization(), []);
  assert.deepEqual(foreign.preflightsAskingForAuthorization(), []);

  // The control: the API origin does get it.
  const own = await clientFetch(page, "/dashboard");
  assert.equal(own.value?.status, 200);
  await requests.settled();
  assert.equal(requests.find((q) => q.path === "/dashboard")?.authorization, `Bearer ${s.accessToken}`);
});

test("standard: the server goes down and comes back: session kept, then refreshed", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "tokenkeeper-e2e-down-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const args = ["--db", join(dir, "server.db"), "--secret", FIXED_SECRET, "--access-ttl", "5", "--refresh-ttl", "120"];
  let server = await startTestServer(args);
  t.after(() => server.stop());
  const { port } = new URL(server.url);

  const { page } = await openClient(t, browser, server.url);
  const s0 = await loginOk(page, "user", "user-password");
  assert.equal(await server.stop(), 0);

  // Down: a refresh fails with `network` and no status; the session stays.
  const r = await page.evaluate(() => window.__try(() => client.refresh()));
  assert.equal(r.ok, false);
  assert.deepEqual([r.error.isAuthError, r.error.code, r.error.status], [true, "network", undefined]);
  assert.equal(await page.evaluate(() => client.isAuthenticated()), true, "authenticated while the token is valid");
  assert.equal((await session(page)).accessToken, s0.accessToken);

  // Past exp, still down: the session is kept for a later refresh, not expired or signed out.
  await waitUntil(page, s0.expiresAt + 300);
  let names = await eventNames(page);
  assert.ok(!names.includes("SESSION_EXPIRED") && !names.includes("SIGNED_OUT"), `events: ${names}`);
  assert.ok(names.includes("REFRESH_FAILED"), `the scheduled refresh failed and said so: ${names}`);
  const kept = await session(page);
  assert.ok(kept !== null, "the session is kept while the server is down");
  assert.equal(kept.refreshToken, s0.refreshToken);

  // Back on the same port, same database and secret.
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
  assert.equal(typeof token.value, "string");
  assert.notEqual(token.value, s0.accessToken, `refreshed ${how}`);
  assert.ok(jwtClaims(token.value).exp * 1000 > Date.now(), "the new token is valid");
  names = await eventNames(page);
  assert.ok(names.includes("TOKEN_REFRESHED"), `events: ${names}`);
  assert.ok(!names.includes("SESSION_EXPIRED") && !names.includes("SIGNED_OUT"), `events: ${names}`);
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "user@example.com");

  const stats = await getStats(server.url);
  assert.ok(countStatus(stats, "POST /auth/refresh", 200) >= 1, JSON.stringify(stats.routes));
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  t.diagnostic(`refreshed ${how}`);
});
