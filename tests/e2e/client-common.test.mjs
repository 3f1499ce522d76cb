// AuthClient behaviour that does not depend on the backend shape, against the standard profile:
// event order, single-flight refresh, AuthError codes and statuses, secrets kept out of error
// messages, which origins get the token, construction errors, memory storage and dispose().
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  armFault,
  clientFetch,
  closedPort,
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

/** Asserts that no error text (message, String(), stack) contains any of `secrets`. */
function assertNoSecrets(errors, secrets) {
  for (const e of errors) {
    for (const secret of secrets.filter(Boolean)) {
      for (const text of [e.message, e.string, e.stack]) {
        assert.ok(!text.includes(secret), `a secret appears in the ${e.code} error: ${text}`);
      }
    }
  }
}

test("events: INITIAL_SESSION first (asynchronously), then SIGNED_IN, TOKEN_REFRESHED, SIGNED_OUT; unsubscribe", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, null);
  const r = await page.evaluate(async () => {
    const client = (window.client = new tk.AuthClient({ baseUrl: location.origin }));
    const first = [];
    const offFirst = client.onAuthStateChange((event, s) => first.push([event, s === null ? null : s.accessToken]));
    const synchronously = first.length; // INITIAL_SESSION must not be delivered inside the call
    // Start logging in right away: INITIAL_SESSION must still come before SIGNED_IN.
    const signedIn = await client.login("user", "user-password");
    const refreshed = await client.refresh();
    const late = [];
    const offLate = client.onAuthStateChange((event, s) => late.push([event, s === null ? null : s.accessToken]));
    const lateSynchronously = late.length;
    await window.__sleep(0);
    const lateInitial = late.slice();
    offFirst();
    const refreshedAgain = await client.refresh();
    await client.logout();
    offLate();
    await client.login("user", "user-password"); // nobody listens any more
    await window.__sleep(50);
    return {
      synchronously,
      lateSynchronously,
      lateInitial,
      first,
      late,
      tokens: [signedIn.accessToken, refreshed.accessToken, refreshedAgain.accessToken],
    };
  });
  const [t1, t2, t3] = r.tokens;
  assert.equal(r.synchronously, 0, "INITIAL_SESSION is delivered asynchronously");
  assert.equal(r.lateSynchronously, 0);
  assert.deepEqual(r.lateInitial, [["INITIAL_SESSION", t2]], "a late subscriber gets the current session");
  assert.deepEqual(r.first, [
    ["INITIAL_SESSION", null],
    ["SIGNED_IN", t1],
    ["TOKEN_REFRESHED", t2],
  ]);
  assert.deepEqual(r.late, [
    ["INITIAL_SESSION", t2],
    ["TOKEN_REFRESHED", t3],
    ["SIGNED_OUT", null],
  ]);
  assert.equal(new Set(r.tokens).size, 3);
  assert.deepEqual(pageErrors(page), []);
});

test("the latest login() or logout() decides: a logout during a login, then two logins, end as called", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  // A slow login, then a logout while it is out.
  await armFault(long.url, { endpoint: "login", delay_ms: 600 });
  const loggedOut = await page.evaluate(async () => {
    const outcome = (promise) => promise.then(() => "resolved", (e) => e.code);
    const login = outcome(client.login("user", "user-password"));
    await __sleep(100);
    await client.logout();
    const settled = await login;
    await __sleep(900); // the login's reply has come meanwhile
    return { settled, authenticated: client.isAuthenticated(), stored: localStorage.getItem("tokenkeeper") };
  });
  assert.deepEqual(loggedOut, { settled: "not_authenticated", authenticated: false, stored: null });
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"], "no SIGNED_IN from the late reply");
  let stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/login").statuses, { 200: 1 }, "the server did grant that login");
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 1 }, "and the session it granted was logged out");

  // Two logins: the earlier one is slow, so its reply comes last; the later call still wins.
  await armFault(long.url, { endpoint: "login", delay_ms: 600 });
  const twoLogins = await page.evaluate(async () => {
    const outcome = (promise) => promise.then((s) => s.claims.role, (e) => e.code);
    const first = outcome(client.login("admin", "admin-password"));
    await __sleep(50);
    const second = outcome(client.login("user", "user-password"));
    const settled = [await first, await second];
    await __sleep(900);
    return { settled, role: client.claims()?.role };
  });
  assert.deepEqual(twoLogins, { settled: ["not_authenticated", "user"], role: "user" });
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);
  stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 2 }, "the admin session granted late was logged out");
});

test("single flight: 10 concurrent getAccessToken()/refresh() calls at expiry make one refresh request", async (t) => {
  await resetServer(short.url);
  const { page } = await openClient(t, browser, short.url, { autoRefresh: false });
  const s0 = await loginOk(page, "user", "user-password");
  await waitUntil(page, s0.expiresAt + 100);
  // Slow the refresh down so that the second wave surely finds it in flight.
  await armFault(short.url, { endpoint: "refresh", delay_ms: 600 });

  const r = await page.evaluate(async () => {
    const calls = [];
    const wave = () => {
      for (let i = 0; i < 5; i++) {
        calls.push(
          i % 2 === 0
            ? window.__try(() => client.getAccessToken())
            : window.__try(async () => (await client.refresh()).accessToken),
        );
      }
    };
    wave();
    await window.__sleep(150);
    wave();
    const results = await Promise.all(calls);
    return {
      results,
      again: await client.getAccessToken(),
      session: window.__plain(client.session()),
    };
  });
  const stats = await getStats(short.url);
  assert.equal(r.results.length, 10);
  for (const result of r.results) {
    assert.deepEqual(result, { ok: true, value: r.session.accessToken });
  }
  assert.notEqual(r.session.accessToken, s0.accessToken);
  assert.equal(r.again, r.session.accessToken, "a fresh token needs no refresh");
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 }, "exactly one refresh request");
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED"]);
  assert.deepEqual(pageErrors(page), []);
});

test("single flight: 10 concurrent fetch() calls with an expired token make one refresh, no 401", async (t) => {
  await resetServer(short.url);
  const { page, requests } = await openClient(t, browser, short.url, { autoRefresh: false });
  const s0 = await loginOk(page, "user", "user-password");
  await waitUntil(page, s0.expiresAt + 100);
  const statuses = await page.evaluate(() =>
    Promise.all(Array.from({ length: 10 }, () => client.fetch("/dashboard").then((r) => r.status))),
  );
  assert.deepEqual(statuses, Array(10).fill(200));
  const stats = await getStats(short.url);
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 });
  assert.deepEqual(route(stats, "GET /dashboard").statuses, { 200: 10 }, "no request went with the expired token");
  await requests.settled();
  const s1 = await session(page);
  const sent = requests.filter((q) => q.path === "/dashboard").map((q) => q.authorization);
  assert.deepEqual(sent, Array(10).fill(`Bearer ${s1.accessToken}`));
});

test("AuthError codes and statuses for login failures", async (t) => {
  await resetServer(long.url);
  const { context, page } = await openClient(t, browser, long.url);
  const password = "user-password";
  const cases = [
    [{ status: 401 }, "invalid_credentials", 401],
    [{ status: 403 }, "account_disabled", 403],
    [{ status: 429, retry_after: 3 }, "rate_limited", 429],
    [{ status: 500 }, "server", 500],
    [{ status: 503 }, "server", 503],
    [{ status: 422 }, "protocol", 422],
    // Twice: Chromium silently retries a request whose reused connection closes before any
    // response byte, so one dropped connection alone never reaches the page.
    [{ drop: true, count: 2 }, "network", undefined],
  ];
  // Every case runs; the comparison at the end lists all that differ.
  const errors = [];
  const actual = [];
  const expected = [];
  const outcome = (r) =>
    r.ok ? "resolved" : [r.error.isAuthError, r.error.isError, r.error.name, r.error.code, r.error.status];
  for (const [fault, code, status] of cases) {
    await armFault(long.url, { endpoint: "login", ...fault });
    const r = await login(page, "user", password);
    actual.push([JSON.stringify(fault), outcome(r)]);
    expected.push([JSON.stringify(fault), [true, true, "AuthError", code, status]]);
    if (!r.ok) errors.push(r.error);
  }

  await resetServer(long.url); // forget a drop fault the browser did not use up

  // Replies the companion server never gives, from a proxy or a misconfigured backend.
  const loginUrl = `${long.url}/auth/login`;
  const html = '<!doctype html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>';
  const replies = [
    [{ status: 502, contentType: "text/html", body: html }, "server", 502],
    [{ status: 200, contentType: "text/html", body: "<!doctype html><p>Welcome</p>" }, "protocol", 200],
    [{ status: 200, contentType: "application/json", body: '{"token_type":"bearer"}' }, "protocol", 200],
    [{ status: 200, contentType: "application/json", body: '{"access_token":"not-a-jwt","token_type":"bearer"}' }, "invalid_token", 200],
  ];
  for (const [reply, code, status] of replies) {
    await context.route(loginUrl, (r) => r.fulfill(reply));
    const r = await login(page, "user", password);
    await context.unroute(loginUrl);
    actual.push([`${reply.status} ${reply.body}`, outcome(r)]);
    expected.push([`${reply.status} ${reply.body}`, [true, true, "AuthError", code, status]]);
    if (!r.ok) errors.push(r.error);
  }

  // The real limit: 5 failures, then 429 even with the right password.
  for (let i = 0; i < 5; i++) await login(page, "user", `wrong-${i}`);
  const limited = await login(page, "user", password);
  actual.push(["the real per-account limit", outcome(limited)]);
  expected.push(["the real per-account limit", [true, true, "AuthError", "rate_limited", 429]]);
  if (!limited.ok) errors.push(limited.error);

  assert.deepEqual(actual, expected);
  assert.equal(await session(page), null);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"], "no failed login changed the state");
  assertNoSecrets(errors, [password]);
});

test("AuthError codes for authenticated calls; a 5xx refresh keeps the session, a refused one ends it", async (t) => {
  await resetServer(long.url);
  const { context, page } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");
  const secrets = [s.accessToken, s.refreshToken, "user-password"];
  const errors = [];

  const cases = [
    [{ status: 403 }, "forbidden", 403],
    [{ status: 429 }, "rate_limited", 429],
    [{ status: 500 }, "server", 500],
    [{ status: 503 }, "server", 503],
    [{ status: 422 }, "protocol", 422],
  ];
  const actual = [];
  const expected = [];
  const outcome = (r) => (r.ok ? "resolved" : [r.error.isAuthError, r.error.code, r.error.status]);
  for (const [fault, code, status] of cases) {
    await armFault(long.url, { endpoint: "me", ...fault });
    const r = await me(page);
    actual.push([JSON.stringify(fault), outcome(r)]);
    expected.push([JSON.stringify(fault), [true, code, status]]);
    if (!r.ok) errors.push(r.error);
  }
  const meUrl = `${long.url}/auth/me`;
  const replies = [
    [{ status: 504, contentType: "text/html", body: "<html><title>504 Gateway Time-out</title></html>" }, "server", 504],
    [{ status: 200, contentType: "text/html", body: "<!doctype html><p>a login page</p>" }, "protocol", 200],
  ];
  for (const [reply, code, status] of replies) {
    await context.route(meUrl, (r) => r.fulfill(reply));
    const r = await me(page);
    await context.unroute(meUrl);
    actual.push([`${reply.status} ${reply.body}`, outcome(r)]);
    expected.push([`${reply.status} ${reply.body}`, [true, code, status]]);
    if (!r.ok) errors.push(r.error);
  }
  assert.deepEqual(actual, expected);

  let stats = await getStats(long.url);
  assert.equal(route(stats, "POST /auth/refresh").count, 0, "none of these is a reason to refresh");
  assert.deepEqual(await session(page), s, "nor to drop the session");

  // A refresh answered 401: terminal. `refresh_failed`, the session and storage are cleared.
  await armFault(long.url, { endpoint: "refresh", status: 401 });
  const refused = await page.evaluate(() => window.__try(() => client.refresh()));
  assert.deepEqual([refused.ok, refused.error?.code, refused.error?.status], [false, "refresh_failed", 401]);
  errors.push(refused.error);
  assert.equal(await session(page), null);
  assert.equal(await page.evaluate(() => client.isAuthenticated()), false);
  let names = await eventNames(page);
  assert.equal(names.at(-1), "SIGNED_OUT", `events: ${names}`);
  const stored = await page.evaluate(() => Object.keys(localStorage).map((k) => localStorage.getItem(k)));
  assert.ok(stored.every((v) => !v.includes(s.refreshToken)), "the refresh token is gone from storage");

  // A refresh answered 502: `server`, REFRESH_FAILED, the session is kept.
  const s1 = await loginOk(page, "user", "user-password");
  secrets.push(s1.accessToken, s1.refreshToken);
  await armFault(long.url, { endpoint: "refresh", status: 502 });
  const failed = await page.evaluate(() => window.__try(() => client.refresh()));
  assert.deepEqual([failed.ok, failed.error?.isAuthError, failed.error?.code, failed.error?.status], [false, true, "server", 502]);
  errors.push(failed.error);
  assert.equal(await page.evaluate(() => client.isAuthenticated()), true);
  assert.equal((await session(page))?.refreshToken, s1.refreshToken);
  names = await eventNames(page);
  const sinceLogin = names.slice(names.lastIndexOf("SIGNED_IN"));
  assert.equal(sinceLogin.filter((n) => n === "REFRESH_FAILED").length, 1, `events: ${names}`);
  assert.ok(!sinceLogin.includes("SIGNED_OUT"), `events: ${names}`);

  // A network failure on an allowed origin (the token would have been attached).
  const port = await closedPort();
  await page.evaluate(() => client.dispose());
  await createClient(page, { baseUrl: long.url, apiOrigins: [`http://127.0.0.1:${port}`] });
  const s2 = await loginOk(page, "user", "user-password");
  secrets.push(s2.accessToken, s2.refreshToken);
  const offline = await clientFetch(page, `http://127.0.0.1:${port}/data`);
  assert.deepEqual([offline.ok, offline.error?.isAuthError, offline.error?.code, offline.error?.status], [false, true, "network", undefined]);
  errors.push(offline.error);

  stats = await getStats(long.url);
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses["401"], 1);
  assertNoSecrets(errors, secrets);
});

test("fetch() to a foreign origin carries no Authorization header, whatever the input form", async (t) => {
  await resetServer(long.url);
  const foreign = await startForeignOrigin(t);
  const { page, requests } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");
  const r = await page.evaluate(async (foreign) => {
    // fetch(RequestInfo | URL): a synchronous throw is reported like a rejection.
    const status = async (call) => {
      try {
        return (await call()).status;
      } catch (e) {
        return `${e instanceof tk.AuthError ? "AuthError" : e?.name} ${e?.code}: ${e?.message}`;
      }
    };
    const { port } = new URL(foreign);
    return {
      string: await status(() => client.fetch(`${foreign}/string`)),
      urlObject: await status(() => client.fetch(new URL("/url-object", foreign))),
      request: await status(() => client.fetch(new Request(`${foreign}/request`, { headers: { "x-app": "1" } }))),
      init: await status(() =>
        client.fetch(`${foreign}/with-init`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
      ),
      protocolRelative: await status(() => client.fetch(`//127.0.0.1:${port}/protocol-relative`)),
      // The own origin, as controls: these do get the token.
      ownRelative: await status(() => client.fetch("/dashboard")),
      ownUrlObject: await status(() => client.fetch(new URL("/dashboard", location.href))),
      ownRequest: await status(() => client.fetch(new Request("/dashboard", { headers: { "x-app": "1" } }))),
    };
  }, foreign.origin);
  // What matters most first: nothing the foreign origin received carried the token.
  assert.deepEqual(foreign.withAuthorization(), []);
  assert.deepEqual(foreign.preflightsAskingForAuthorization(), []);
  assert.deepEqual(r, {
    string: 200,
    urlObject: 200,
    request: 200,
    init: 200,
    protocolRelative: 200,
    ownRelative: 200,
    ownUrlObject: 200,
    ownRequest: 200,
  });
  const arrived = foreign.seen.filter((q) => q.method !== "OPTIONS").map((q) => q.url);
  assert.deepEqual(arrived.sort(), ["/protocol-relative", "/request", "/string", "/url-object", "/with-init"]);
  await requests.settled();
  const own = requests.filter((q) => q.path === "/dashboard").map((q) => q.authorization);
  assert.deepEqual(own, Array(3).fill(`Bearer ${s.accessToken}`));
});

test("fetch() keeps an Authorization header the caller set: no token added, no refresh for its 401", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");
  const statuses = await page.evaluate(async () => [
    (await client.fetch("/auth/me", { headers: { Authorization: "Bearer the-callers-own" } })).status,
    (await client.fetch(new Request("/auth/me", { headers: { authorization: "Basic dXNlcjpwYXNz" } }))).status,
    // The control: without a header of its own, the request gets the session's token.
    (await client.fetch("/auth/me")).status,
  ]);
  assert.deepEqual(statuses, [401, 401, 200]);
  await requests.settled();
  assert.deepEqual(
    requests.filter((q) => q.path === "/auth/me").map((q) => q.authorization),
    ["Bearer the-callers-own", "Basic dXNlcjpwYXNz", `Bearer ${s.accessToken}`],
  );
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 200: 1, 401: 2 }, "the 401s were not replayed");
  assert.equal(route(stats, "POST /auth/refresh").count, 0, "nor answered with a refresh");
});

test("a client of another API under the same storageKey never adopts the session, nor sends its tokens", async (t) => {
  await resetServer(long.url);
  const other = await startForeignOrigin(t);
  const { page } = await openClient(t, browser, long.url);
  const s = await loginOk(page, "user", "user-password");
  // A second client for another API, given the same (default) storage key by mistake.
  const seen = await page.evaluate(async (otherOrigin) => {
    const second = new tk.AuthClient({ baseUrl: otherOrigin });
    const status = (await second.fetch(`${otherOrigin}/api/items`)).status;
    let refresh;
    try {
      await second.refresh();
      refresh = "resolved";
    } catch (e) {
      refresh = e.code;
    }
    return {
      session: second.session(),
      token: await second.getAccessToken(),
      lastError: second.getDiagnostics().lastError?.code,
      status,
      refresh,
      firstStillSignedIn: client.isAuthenticated(),
      stored: JSON.parse(localStorage.getItem("tokenkeeper") ?? "null")?.accessToken === client.session()?.accessToken,
    };
  }, other.origin);
  assert.deepEqual(seen, {
    session: null,
    token: null,
    lastError: "storage",
    status: 200,
    refresh: "not_authenticated",
    firstStillSignedIn: true,
    stored: true,
  });
  // Neither token reached the other API, and its refresh endpoint was never called.
  assert.deepEqual(other.withAuthorization(), []);
  assert.deepEqual(other.preflightsAskingForAuthorization(), []);
  assert.ok(!other.seen.some((q) => q.url.startsWith("/auth/")), JSON.stringify(other.seen.map((q) => q.url)));
  assert.ok(!JSON.stringify(other.seen).includes(s.refreshToken));
});

test("the same API given as a path and as the page's origin spelled out is one session", async (t) => {
  await resetServer(long.url);
  // The first client names the API by a same-origin path; the page is on the API's origin.
  const { page } = await openClient(t, browser, long.url, { baseUrl: "/" });
  const s = await loginOk(page, "user", "user-password");
  const seen = await page.evaluate(async (origin) => {
    const second = new tk.AuthClient({ baseUrl: origin });
    await new Promise((resolve) => second.onAuthStateChange(resolve)); // INITIAL_SESSION
    const seen = {
      accessToken: second.session()?.accessToken ?? null,
      lastError: second.getDiagnostics().lastError?.code ?? null,
      api: JSON.parse(localStorage.getItem("tokenkeeper")).api,
    };
    second.dispose();
    return seen;
  }, long.url);
  assert.deepEqual(seen, { accessToken: s.accessToken, lastError: null, api: `${long.url}/auth/login` });
});

test("signed out, fetch() sends the request without a token and resolves with the reply", async (t) => {
  await resetServer(long.url);
  const { page, requests } = await openClient(t, browser, long.url);
  const r = await clientFetch(page, "/auth/me");
  assert.ok(r.ok, `fetch() resolves: ${JSON.stringify(r.error)}`);
  assert.equal(r.value.status, 401);
  assert.equal(r.value.body.detail, "Not authenticated");
  await requests.settled();
  assert.deepEqual(requests.filter((q) => q.path === "/auth/me").map((q) => q.authorization), [null]);
  const stats = await getStats(long.url);
  assert.deepEqual(route(stats, "GET /auth/me").statuses, { 401: 1 });
  assert.equal(route(stats, "POST /auth/refresh").count, 0);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"]);

  // Signed out, absent values are null, never undefined.
  const state = await page.evaluate(async () => ({
    session: client.session(),
    isAuthenticated: client.isAuthenticated(),
    claims: client.claims(),
    expiresAt: client.expiresAt(),
    token: await client.getAccessToken(),
    role: client.hasRole("user"),
    any: client.hasAnyRole(["user", "admin"]),
  }));
  assert.deepEqual(state, { session: null, isAuthenticated: false, claims: null, expiresAt: null, token: null, role: false, any: false });
});

test("apiOrigins adds an origin that gets the token; others still do not", async (t) => {
  await resetServer(long.url);
  const [allowed, other] = [await startForeignOrigin(t), await startForeignOrigin(t)];
  const { page, requests } = await openClient(t, browser, long.url, { apiOrigins: [allowed.origin] });
  const s = await loginOk(page, "user", "user-password");
  const statuses = await page.evaluate(
    async ([a, b]) => [
      (await client.fetch(`${a}/api/items`)).status,
      (await client.fetch(`${b}/api/items`)).status,
      (await client.fetch("/dashboard")).status,
    ],
    [allowed.origin, other.origin],
  );
  assert.deepEqual(statuses, [200, 200, 200]);
  const got = allowed.seen.filter((q) => q.method === "GET").map((q) => q.headers.authorization);
  assert.deepEqual(got, [`Bearer ${s.accessToken}`]);
  assert.ok(other.seen.some((q) => q.url === "/api/items"));
  assert.deepEqual(other.withAuthorization(), []);
  assert.deepEqual(other.preflightsAskingForAuthorization(), []);
  await requests.settled();
  assert.equal(requests.find((q) => q.path === "/dashboard")?.authorization, `Bearer ${s.accessToken}`, "baseUrl's origin is always allowed");
});

test("bad options throw AuthError config, naming the option", async (t) => {
  const { page } = await openClient(t, browser, long.url, null);
  const results = await page.evaluate((base) => {
    const attempt = (options) => {
      try {
        new tk.AuthClient(options);
        return "no throw";
      } catch (e) {
        return [e instanceof tk.AuthError, e.code, e.message];
      }
    };
    return [
      [attempt({}), "baseUrl"],
      [attempt({ baseUrl: "not a url" }), "baseUrl"],
      [attempt({ baseUrl: base, profile: "nonsense" }), "profile"],
      [attempt({ baseUrl: base, storage: "nonsense" }), "storage"],
      [attempt({ baseUrl: base, login: { encoding: "xml" } }), "login"],
      // Typos: serde-wasm-bindgen reads only the names it knows, so these once passed silently.
      [attempt({ baseUrl: base, refreshMargin: 5 }), "`refreshMargin`"],
      [attempt({ baseUrl: base, login: { usernamefield: "email" } }), "`login.usernamefield`"],
      [attempt({ baseUrl: base, responseFields: { access_token: "token" } }), "`responseFields.access_token`"],
      // Wrong types: the message names the option.
      [attempt({ baseUrl: base, storageKey: 5 }), "`storageKey`"],
      [attempt({ baseUrl: base, autoRefresh: "no" }), "`autoRefresh`"],
      [attempt({ baseUrl: base, roleClaims: "role" }), "`roleClaims`"],
      [attempt({ baseUrl: base, endpoints: { refresh: 5 } }), "`endpoints.refresh`"],
      [attempt({ baseUrl: 5 }), "`baseUrl`"],
    ].map(([[isAuthError, code, message], name]) => [isAuthError, code, message.includes(name) || message]);
  }, long.url);
  assert.deepEqual(results, Array(13).fill([true, "config", true]));
});

test("arguments of the wrong type get AuthError config, and the module keeps working", async (t) => {
  const { page } = await openClient(t, browser, long.url, { storage: "memory" });
  const { results, afterwards } = await page.evaluate(async () => {
    // What each call gives: its result, or the class and code of what it threw or rejected with.
    const outcome = async (call) => {
      try {
        return ["returned", await call()];
      } catch (e) {
        return [e instanceof tk.AuthError ? "AuthError" : e?.constructor?.name, e?.code];
      }
    };
    const calls = [
      () => client.login(123, "password"),
      () => client.login("user", { toString: () => "password" }),
      () => client.login(),
      () => client.hasRole(5),
      () => client.hasRole(),
      () => client.hasRole({}),
      () => client.hasAnyRole("admin"),
      () => client.hasAnyRole([1, 2]),
      () => client.hasAnyRole(),
      () => client.hasAllRoles(null),
      () => client.hasAllRoles({ length: 1, 0: "admin" }),
      () => client.onAuthStateChange(5),
      () => client.onAuthStateChange(),
    ];
    const results = [];
    for (const call of calls) results.push(await outcome(call));
    // wasm-bindgen's own string conversion used to trap inside the module on these; what a trap
    // leaves behind (an allocator mid-update) would show in the calls that follow.
    const session = await client.login("user", "user-password");
    const afterwards = [session.accessToken === (await client.getAccessToken()), client.hasRole("user"), client.hasAnyRole(["x", "user"]), client.hasAllRoles([])];
    return { results, afterwards };
  });
  assert.deepEqual(results, Array(13).fill(["AuthError", "config"]));
  assert.deepEqual(afterwards, [true, true, true, true]);
});

test('storage "memory" does not outlive the page and writes nothing to Web Storage', async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url, { storage: "memory" });
  const s = await loginOk(page, "user", "user-password");
  const stored = await page.evaluate(() =>
    [...Object.keys(localStorage).map((k) => localStorage.getItem(k)), ...Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k))],
  );
  assert.ok(stored.every((v) => !v.includes(s.accessToken)), "no token in Web Storage");
  await page.reload();
  await loadPackage(page);
  const initial = await createClient(page, { baseUrl: long.url, storage: "memory" });
  assert.deepEqual([initial?.event, initial?.session], ["INITIAL_SESSION", null]);
});

test("dispose() stops the refresh timer and the listeners", async (t) => {
  await resetServer(short.url);
  const { page } = await openClient(t, browser, short.url);
  const s = await loginOk(page, "user", "user-password");
  await page.evaluate(() => client.dispose());
  await waitUntil(page, s.expiresAt + 500);
  const stats = await getStats(short.url);
  assert.equal(route(stats, "POST /auth/refresh").count, 0, "no refresh after dispose()");
  assert.equal(totalStatus(stats, 401), 0);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"], "no event after dispose()");
  assert.deepEqual(pageErrors(page), []);
});

test("dispose() from a SIGNED_IN listener keeps that login's success; calls after it are refused", async (t) => {
  await resetServer(long.url);
  const { page } = await openClient(t, browser, long.url);
  const result = await page.evaluate(async () => {
    window.client.onAuthStateChange((event) => {
      if (event === "SIGNED_IN") window.client.dispose();
    });
    await window.__sleep(10); // past this listener's INITIAL_SESSION
    return window.__try(async () => window.__plain(await window.client.login("user", "user-password")));
  });
  assert.ok(result.ok, `login() rejected: ${JSON.stringify(result.error)}`);
  assert.equal(typeof result.value.accessToken, "string");
  assert.deepEqual(result.value.claims, jwtClaims(result.value.accessToken));
  // Disposed: a call made now is refused.
  const later = await page.evaluate(() => window.__try(() => window.client.refresh()));
  assert.equal(later.ok, false);
  assert.equal(later.error.code, "config");
  assert.deepEqual(pageErrors(page), []);
});
