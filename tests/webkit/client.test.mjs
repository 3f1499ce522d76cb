// The package in WebKit (WebKitGTK's MiniBrowser over W3C WebDriver), or in Firefox with
// E2E_ENGINE=firefox (geckodriver, headless), against the companion server: login and the error
// codes, proactive refresh with 3-second tokens, `fetch` with the 401 replay, the three storage
// modes across a reload, cookie refresh, and DPoP (WebCrypto keys in IndexedDB). The same scenarios
// as tests/e2e/client-*.test.mjs in Chromium, trimmed to what can differ between engines.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { armFault, countStatus, getStats, jwtClaims, resetServer, route, totalStatus } from "../e2e/client-helpers.mjs";
import { engine, openBrowser, startAll, startWebKit, startWebKitServer } from "./harness.mjs";

let driver;
let long; // 5-minute access tokens: nothing expires during a test
let short; // 3-second access tokens
let cookie; // --cookie-mode, 3-second access tokens
let dpop; // --dpop, 5-minute access tokens

before(async () => {
  [driver, long, short, cookie, dpop] = await startAll([
    startWebKit(),
    startWebKitServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
    startWebKitServer(["--access-ttl", "3", "--refresh-ttl", "60"]),
    startWebKitServer(["--cookie-mode", "--access-ttl", "3", "--refresh-ttl", "60"]),
    startWebKitServer(["--dpop", "--access-ttl", "300", "--refresh-ttl", "600"]),
  ]);
});
after(async () => {
  await Promise.all([driver?.stop(), long?.stop(), short?.stop(), cookie?.stop(), dpop?.stop()]);
});

test(`${engine.label}: login, claims, roles, me(), logout that leaves storage clean`, async (t) => {
  await resetServer(long.url);
  const win = await openBrowser(t, driver, long.url);
  const initial = await win.createClient();
  assert.deepEqual([initial.event, initial.session], ["INITIAL_SESSION", null]);

  const s = await win.loginOk("admin", "admin-password");
  const claims = jwtClaims(s.accessToken);
  assert.deepEqual(s.claims, claims);
  assert.equal(claims.role, "admin");
  assert.equal(typeof s.expiresAt, "number");
  assert.ok(s.expiresAt <= claims.exp * 1000 && s.expiresAt > claims.exp * 1000 - 1500, `expiresAt ${s.expiresAt}`);
  const state = await win.run(async () => ({
    isAuthenticated: client.isAuthenticated(),
    token: await client.getAccessToken(),
    roles: [client.hasRole("admin"), client.hasRole("user"), client.hasAnyRole(["user", "admin"]), client.hasAllRoles(["admin", "user"])],
    me: await window.__try(() => client.me()),
    decoded: tk.decodeClaims(await client.getAccessToken()).sub,
  }));
  assert.deepEqual(state, {
    isAuthenticated: true,
    token: s.accessToken,
    roles: [true, false, true, false],
    me: { ok: true, value: state.me.value },
    decoded: claims.sub,
  });
  assert.equal(state.me.value.email, "admin@example.com");
  assert.ok((await win.storageText()).includes(s.accessToken), "local storage holds the session");

  const out = await win.run(() => window.__try(() => client.logout()));
  assert.deepEqual(out, { ok: true, value: null });
  assert.deepEqual(await win.eventNames(), ["INITIAL_SESSION", "SIGNED_IN", "SIGNED_OUT"]);
  const afterwards = await win.run(async () => ({
    session: client.session(),
    token: await client.getAccessToken(),
    admin: client.hasRole("admin"),
  }));
  assert.deepEqual(afterwards, { session: null, token: null, admin: false });
  const stored = await win.storageText();
  assert.ok(!stored.includes(s.accessToken) && !stored.includes(s.refreshToken), `tokens left: ${stored}`);

  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/login").statuses, { 200: 1 });
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 200: 1 });
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 1 });
});

test(`${engine.label}: AuthError codes for login failures and decodeClaims()`, async (t) => {
  await resetServer(long.url);
  const win = await openBrowser(t, driver, long.url);
  await win.createClient();
  const outcome = (r) => (r.ok ? "resolved" : [r.error.isAuthError, r.error.isError, r.error.name, r.error.code, r.error.status]);
  const actual = [];
  const expected = [];
  for (const [username, password, code, status] of [
    ["user", "not-the-password", "invalid_credentials", 401],
    ["inactive", "inactive-password", "account_disabled", 403],
  ]) {
    const r = await win.login(username, password);
    actual.push([username, outcome(r)]);
    expected.push([username, [true, true, "AuthError", code, status]]);
    if (!r.ok) assert.ok(!r.error.string.includes(password), r.error.string);
  }
  for (const [fault, code, status] of [
    [{ status: 429, retry_after: 3 }, "rate_limited", 429],
    [{ status: 500 }, "server", 500],
    [{ status: 503 }, "server", 503],
    [{ status: 422 }, "protocol", 422],
    // Twice, as in tests/e2e/: a browser may retry a request whose reused connection closes
    // before any response byte.
    [{ drop: true, count: 2 }, "network", null], // WebDriver sends undefined back as null
  ]) {
    await armFault(long.url, { endpoint: "login", ...fault });
    const r = await win.login("user", "user-password");
    actual.push([JSON.stringify(fault), outcome(r)]);
    expected.push([JSON.stringify(fault), [true, true, "AuthError", code, status]]);
  }
  await resetServer(long.url); // forget a drop fault the browser did not use up
  // A server that cannot be reached at all.
  const unreachable = await win.run(async () => {
    const other = new tk.AuthClient({ baseUrl: "http://127.0.0.1:9", storage: "memory" });
    try {
      return await window.__try(() => other.login("user", "user-password"));
    } finally {
      other.dispose();
    }
  });
  actual.push(["unreachable", outcome(unreachable)]);
  expected.push(["unreachable", [true, true, "AuthError", "network", null]]);
  assert.deepEqual(actual, expected);
  assert.deepEqual(await win.eventNames(), ["INITIAL_SESSION"], "no failed login changed the state");

  const decoded = await win.run(() =>
    ["", "a.b", "not.a.jwt", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln", 42, null].map((token) => {
      try {
        tk.decodeClaims(token);
        return "decoded";
      } catch (e) {
        return [e instanceof tk.AuthError, e.code];
      }
    }),
  );
  assert.deepEqual(decoded, Array(6).fill([true, "invalid_token"]));
});

test(`${engine.label}: refreshes before exp with 3-second tokens, idle and under load; no expired token sent`, async (t) => {
  await resetServer(short.url);
  const win = await openBrowser(t, driver, short.url);
  await win.createClient();
  const s0 = await win.loginOk("user", "user-password");

  // Idle: the timer alone refreshes before exp.
  let log = await win.waitForEvent("TOKEN_REFRESHED");
  assert.ok(log.find((e) => e.event === "TOKEN_REFRESHED").at < s0.expiresAt, "idle refresh after exp");

  // Busy: API calls through the client while it refreshes twice more.
  const calls = await win.run(async () => {
    const calls = [];
    const refreshed = () => window.events.filter((e) => e.event === "TOKEN_REFRESHED").length;
    while (refreshed() < 3) {
      const kind = calls.length % 3 === 2 ? "me" : "fetch";
      calls.push({
        kind,
        r: await window.__try(async () => (kind === "me" ? (await client.me(), 200) : (await client.fetch("/dashboard")).status)),
      });
      await window.__sleep(150);
    }
    return calls;
  });
  log = await win.events();
  const stats = await getStats(short.url);
  assert.deepEqual(calls.filter((c) => !c.r.ok || c.r.value !== 200), [], "every call succeeded");
  assert.ok(calls.length >= 10, `${calls.length} calls`);
  const names = log.map((e) => e.event);
  for (const unwanted of ["SESSION_EXPIRED", "SIGNED_OUT", "REFRESH_FAILED"]) assert.ok(!names.includes(unwanted), `${names}`);
  const chain = log.filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED");
  for (let i = 1; i < chain.length; i++) {
    const [prev, next] = [chain[i - 1].session, chain[i].session];
    assert.ok(chain[i].at < prev.expiresAt, `refresh ${i} at ${chain[i].at} after exp ${prev.expiresAt}`);
    assert.notEqual(next.refreshToken, prev.refreshToken, "the refresh token rotated");
  }
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  const refreshes = route(stats, "POST /auth/refresh");
  assert.ok(refreshes.count >= 3 && refreshes.count <= 4, JSON.stringify(refreshes));
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), refreshes.count);
  // Each API request carried a token that had not expired when it left (page clock).
  const sent = (await win.requests()).filter((r) => r.path === "/dashboard" || r.path === "/auth/me");
  assert.equal(sent.length, calls.length);
  for (const r of sent) {
    assert.ok(r.authorization, `${r.path} without a token`);
    assert.ok(jwtClaims(r.authorization.slice(7)).exp * 1000 > r.at, `${r.path} sent with an expired token`);
  }
});

test(`${engine.label}: fetch() answers a 401 with one refresh and one replay, with the same method and body; a 403 passes`, async (t) => {
  await resetServer(long.url);
  const win = await openBrowser(t, driver, long.url);
  await win.createClient({ storage: "memory" });
  const s0 = await win.loginOk("user", "user-password");

  await armFault(long.url, { endpoint: "me", status: 401 });
  const r = await win.clientFetch("/auth/me");
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.deepEqual([r.value.status, r.value.body.email], [200, "user@example.com"]);
  const s1 = await win.session();
  assert.notEqual(s1.accessToken, s0.accessToken);
  assert.deepEqual(await win.eventNames(), ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED"]);
  const sent = (await win.requests()).filter((q) => q.path === "/auth/me").map((q) => q.authorization);
  assert.deepEqual(sent, [`Bearer ${s0.accessToken}`, `Bearer ${s1.accessToken}`], "old token, then the new one");

  // A 403 is passed through without a refresh.
  const forbidden = await win.clientFetch("/admin/users");
  assert.deepEqual([forbidden.ok, forbidden.value?.status], [true, 403]);

  // A POST with a body, given as string + init and as a Request: replayed whole. POST
  // /auth/logout is a bearer endpoint with a JSON body; the server refuses it once.
  const results = [];
  for (const form of ["init", "request"]) {
    // A new client each time (in memory, so it adopts nothing): the previous one's session
    // was just logged out on the server behind its back.
    await win.run(() => client.dispose());
    await win.createClient({ storage: "memory" });
    const s = await win.loginOk("user", "user-password");
    const body = JSON.stringify({ refresh_token: s.refreshToken, form });
    await armFault(long.url, { endpoint: "logout", status: 401 });
    const result = await win.run(
      (form, body) =>
        window.__try(async () => {
          const init = { method: "POST", headers: { "content-type": "application/json" }, body };
          const response = await (form === "init"
            ? client.fetch("/auth/logout", init)
            : client.fetch(new Request("/auth/logout", init)));
          return { status: response.status, body: await response.json() };
        }),
      form,
      body,
    );
    const logouts = (await win.requests()).filter((q) => q.path === "/auth/logout" && q.body?.includes(`"form":"${form}"`));
    results.push({
      form,
      result: result.ok ? result.value : result.error,
      sent: logouts.map((q) => [q.method, q.body === body, q.authorization !== null]),
    });
  }
  const loggedOut = { status: 200, body: { message: "Successfully logged out" } };
  assert.deepEqual(results, [
    { form: "init", result: loggedOut, sent: [["POST", true, true], ["POST", true, true]] },
    { form: "request", result: loggedOut, sent: [["POST", true, true], ["POST", true, true]] },
  ]);
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 200: 1, 401: 1 });
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 2, 401: 2 });
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 3 });
  assert.deepEqual(route(stats, "GET /admin/users").statuses, { 403: 1 });
  assert.deepEqual(route(stats, "POST /auth/login").statuses, { 200: 3 });
});

test(`${engine.label}: storage local and session survive a reload, memory does not and writes nothing`, async (t) => {
  await resetServer(long.url);
  const win = await openBrowser(t, driver, long.url);
  for (const storage of ["local", "session", "memory"]) {
    await win.createClient({ storage, storageKey: `tk-${storage}` });
    const s = await win.loginOk("user", "user-password");
    const where = await win.run(
      (key) => [localStorage.getItem(key) !== null, sessionStorage.getItem(key) !== null],
      `tk-${storage}`,
    );
    assert.deepEqual(where, { local: [true, false], session: [false, true], memory: [false, false] }[storage], storage);
    if (storage === "memory") assert.ok(!(await win.storageText()).includes(s.accessToken), "memory wrote a token");

    await win.reload();
    const initial = await win.createClient({ storage, storageKey: `tk-${storage}` });
    assert.equal(initial.event, "INITIAL_SESSION");
    if (storage === "memory") {
      assert.equal(initial.session, null, "memory did not outlive the page");
    } else {
      assert.deepEqual(initial.session, s, `${storage}: INITIAL_SESSION carries the stored session`);
      assert.equal(await win.run(() => client.getAccessToken()), s.accessToken);
      const who = await win.run(() => window.__try(() => client.me()));
      assert.equal(who.value?.email, "user@example.com", JSON.stringify(who));
      await win.run(() => client.logout());
    }
    await win.run(() => client.dispose());
  }
  const stats = await getStats(long.url);
  assert.equal(route(stats, "POST /auth/login").count, 3, "no login after a reload");
  assert.equal(route(stats, "POST /auth/refresh").count, 0, "no refresh needed");
  assert.equal(await win.storageText(), "[]", "logout left nothing behind");
});

test(`${engine.label}: cookie refresh: no refresh token in JS; refresh() and the timer use the HttpOnly cookie`, async (t) => {
  await resetServer(cookie.url);
  const win = await openBrowser(t, driver, cookie.url);
  await win.createClient({ refresh: { via: "cookie" } });
  const s0 = await win.loginOk("user", "user-password");
  assert.equal(s0.refreshToken, null);
  assert.ok(!(await win.run(() => document.cookie)).includes("refresh_token"), "the cookie is HttpOnly");

  // The cookie is scoped to /auth: WebDriver shows a document's cookies, so look from there.
  const probe = await win.browser.openWindow();
  const authCookies = async () => {
    await (await probe.focus()).navigate(`${cookie.url}/auth/refresh`);
    return (await probe.browser.session.cookies()).filter((c) => c.name === "refresh_token");
  };
  const [c0] = await authCookies();
  assert.ok(c0, "login set the refresh cookie");
  assert.deepEqual([c0.httpOnly, c0.path, c0.sameSite], [true, "/auth", "Strict"]);
  assert.ok(!(await win.storageText()).includes(c0.value), "the refresh token is not in Web Storage");

  const r1 = await win.run(() => window.__try(async () => window.__plain(await client.refresh())));
  assert.ok(r1.ok, JSON.stringify(r1.error));
  assert.equal(r1.value.refreshToken, null);
  assert.equal(jwtClaims(r1.value.accessToken).sid, jwtClaims(s0.accessToken).sid, "same session");
  const [c1] = await authCookies();
  assert.ok(c1 && c1.value !== c0.value, "the refresh rotated the cookie");

  // The timer, twice more, each before the token it replaced expired.
  const log = await win.waitForEvent("TOKEN_REFRESHED", { count: 3 });
  const chain = log.filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED");
  for (let i = 1; i < chain.length; i++) assert.ok(chain[i].at < chain[i - 1].session.expiresAt, `refresh ${i} late`);
  let stats = await getStats(cookie.url);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), route(stats, "POST /auth/refresh").count);

  // Control: without the cookie the same call is refused, so it was the cookie that worked.
  await authCookies();
  await probe.browser.session.deleteCookies();
  const refused = await win.run(() => window.__try(() => client.refresh()));
  assert.deepEqual([refused.ok, refused.error?.code, refused.error?.status], [false, "refresh_failed", 401]);
  assert.equal(await win.session(), null);
  assert.equal((await win.eventNames()).at(-1), "SIGNED_OUT");
  stats = await getStats(cookie.url);
  assert.equal(countStatus(stats, "POST /auth/refresh", 401), 1);
});

test(`${engine.label}: DPoP: a bound session, proofs on every request, the key kept across a reload and deleted by logout`, async (t) => {
  await resetServer(dpop.url);
  const win = await openBrowser(t, driver, dpop.url);
  await win.createClient({ dpop: true });
  const s = await win.loginOk("user", "user-password");
  const jkt = jwtClaims(s.accessToken).cnf?.jkt;
  assert.ok(jkt, "the server bound the token to the page's key");
  const use = () =>
    win.run(async () => {
      const response = await client.fetch("/auth/me");
      const me = await window.__try(() => client.me());
      return { status: response.status, me: me.value?.email ?? me.error, dpop: client.getDiagnostics().dpop };
    });
  assert.deepEqual(await use(), { status: 200, me: "user@example.com", dpop: { bound: true, thumbprint: jkt } });
  const refreshed = await win.run(() => window.__try(async () => (await client.refresh()).accessToken));
  assert.ok(refreshed.ok, `refresh with a proof: ${JSON.stringify(refreshed.error)}`);
  const stolen = await fetch(`${dpop.url}/auth/me`, { headers: { authorization: `Bearer ${refreshed.value}` } });
  assert.equal(stolen.status, 401, "the bound token is no bearer token");

  await win.reload();
  await win.createClient({ dpop: true });
  assert.deepEqual(await use(), { status: 200, me: "user@example.com", dpop: { bound: true, thumbprint: jkt } }, "the key outlived the reload");
  await win.run(() => client.logout());
  const again = await win.loginOk("user", "user-password");
  assert.notEqual(jwtClaims(again.accessToken).cnf?.jkt, jkt, "logout deleted the key: a new one for the new login");
  const stats = await getStats(dpop.url);
  assert.equal(totalStatus(stats, 401), 1, "only the thief was refused");
});
