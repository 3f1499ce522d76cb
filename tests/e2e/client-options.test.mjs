// AuthClient with the override options (issue 4): cookie refresh against the companion server's
// `--cookie-mode` (same origin and another port of the same site), and, against a small fake
// auth server written here (the companion server cannot rename its fields), JSON and form login
// with custom field names, custom reply field names, `expires_in`, refresh by a custom JSON field
// or query parameter, and the replies a misconfigured or broken backend gives. Also: a listener
// that throws does not stop the others.
//
// Two companion servers: `host` (standard, 5-minute tokens) serves the pages that talk to other
// origins and the listener test; `cookie` (cookie mode, 3-second tokens) allows `host`'s origin
// with credentials.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { launchChromium } from "./harness.mjs";
import {
  eventNames,
  events,
  getStats,
  jwtClaims,
  login,
  loginOk,
  me,
  openClient,
  pageErrors,
  resetServer,
  route,
  session,
  startTestServer,
  totalStatus,
  waitForEvent,
} from "./client-helpers.mjs";

let browser;
let host; // standard profile, 5-minute access tokens; the page origin for cross-origin tests
let cookie; // --cookie-mode, 3-second access tokens, CORS (with credentials) for `host`

before(async () => {
  [browser, host] = await Promise.all([
    launchChromium(),
    startTestServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
  ]);
  cookie = await startTestServer([
    "--cookie-mode",
    "--access-ttl", "3",
    "--refresh-ttl", "60",
    "--cors-origin", host.url,
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), host?.stop(), cookie?.stop()]);
});

/** The refresh cookie the browser holds for `origin` (cookies ignore ports: one jar per host). */
async function refreshCookie(context, origin) {
  const cookies = await context.cookies(`${origin}/auth/refresh`);
  return cookies.find((c) => c.name === "refresh_token") ?? null;
}

/** Every value in the page's Web Storage, as one string. */
const webStorageText = (page) =>
  page.evaluate(() =>
    JSON.stringify([
      ...Object.keys(localStorage).map((k) => localStorage.getItem(k)),
      ...Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
    ]),
  );

/** Asserts each TOKEN_REFRESHED in `log` came before the previous session expired. */
function assertRefreshedInTime(log) {
  const chain = log.filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED");
  assert.equal(chain[0]?.event, "SIGNED_IN", `events: ${log.map((e) => e.event)}`);
  for (let i = 1; i < chain.length; i++) {
    const [prev, next] = [chain[i - 1], chain[i]];
    assert.ok(
      next.at < prev.session.expiresAt,
      `refresh ${i} at ${next.at}, after the previous token expired at ${prev.session.expiresAt}`,
    );
    assert.notEqual(next.session.accessToken, prev.session.accessToken);
  }
  return chain;
}

// ---------------------------------------------------------------------------------------------
// 1. Refresh token in an HttpOnly cookie

test("cookie refresh, same origin: no refresh token in JS; refresh() and the timer refresh with the cookie alone", async (t) => {
  await resetServer(cookie.url);
  const { context, page, requests } = await openClient(t, browser, cookie.url, {
    refresh: { via: "cookie" },
  });

  const s0 = await loginOk(page, "user", "user-password");
  // The server leaves refresh_token out of the body: the session has none (null, not undefined).
  assert.equal(s0.refreshToken, null);
  assert.equal(jwtClaims(s0.accessToken).type, "access");
  const c0 = await refreshCookie(context, cookie.url);
  assert.ok(c0, "login set the refresh cookie");
  assert.deepEqual([c0.httpOnly, c0.sameSite, c0.path], [true, "Strict", "/auth"]);
  assert.equal(jwtClaims(c0.value).type, "refresh");
  assert.ok(!(await page.evaluate(() => document.cookie)).includes("refresh_token"));
  assert.ok(!(await webStorageText(page)).includes(c0.value), "the refresh token is not in Web Storage");

  // refresh(): succeeds with nothing but the cookie, which the server rotates.
  const r1 = await page.evaluate(() => window.__try(async () => window.__plain(await client.refresh())));
  assert.ok(r1.ok, `refresh() failed: ${JSON.stringify(r1.error)}`);
  assert.notEqual(r1.value.accessToken, s0.accessToken);
  assert.equal(r1.value.refreshToken, null);
  assert.equal(jwtClaims(r1.value.accessToken).sid, jwtClaims(s0.accessToken).sid, "same session");
  const c1 = await refreshCookie(context, cookie.url);
  assert.ok(c1 && c1.value !== c0.value, "the refresh rotated the cookie");
  let stats = await getStats(cookie.url);
  assert.deepEqual(route(stats, "POST /auth/refresh").statuses, { 200: 1 });
  const sent = requests.filter((q) => q.path === "/auth/refresh");
  assert.equal(sent.length, 1);
  assert.equal(sent[0].method, "POST");
  assert.ok(!(sent[0].body ?? "").includes(c0.value), "the refresh token travelled in the cookie only");

  // The timer: two more refreshes, each before the token it replaced expired, all by cookie.
  const log = await waitForEvent(page, "TOKEN_REFRESHED", { count: 3, timeout: 10_000 });
  assertRefreshedInTime(log);
  for (const e of log.filter((e) => e.event === "TOKEN_REFRESHED")) assert.equal(e.session.refreshToken, null);
  const names = log.map((e) => e.event);
  for (const unwanted of ["SESSION_EXPIRED", "SIGNED_OUT", "REFRESH_FAILED"]) {
    assert.ok(!names.includes(unwanted), `${unwanted} in ${names}`);
  }
  stats = await getStats(cookie.url);
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  const refreshes = route(stats, "POST /auth/refresh");
  assert.equal(refreshes.statuses["200"], refreshes.count, JSON.stringify(refreshes));

  // Control: without the cookie the same call is refused, so it was the cookie that worked.
  await context.clearCookies();
  const refused = await page.evaluate(() => window.__try(() => client.refresh()));
  assert.deepEqual([refused.ok, refused.error?.code, refused.error?.status], [false, "refresh_failed", 401]);
  assert.equal(await session(page), null);
  assert.equal((await eventNames(page)).at(-1), "SIGNED_OUT");
  assert.deepEqual(pageErrors(page), []);
});

test("cookie refresh from another port of the same site: credentials are included on login, refresh and logout", async (t) => {
  await resetServer(cookie.url);
  // The page is on `host`; the API is `cookie`. Without `credentials: "include"` the login's
  // Set-Cookie would be dropped and no refresh could succeed.
  const { context, page, requests } = await openClient(t, browser, host.url, {
    baseUrl: cookie.url,
    refresh: { via: "cookie" },
  });
  const s0 = await loginOk(page, "admin", "admin-password");
  assert.equal(s0.refreshToken, null);
  const c0 = await refreshCookie(context, cookie.url);
  assert.ok(c0, "the cross-origin login's cookie was stored");
  assert.equal(c0.httpOnly, true);

  const r1 = await page.evaluate(() => window.__try(async () => window.__plain(await client.refresh())));
  assert.ok(r1.ok, `refresh() failed: ${JSON.stringify(r1.error)}`);
  assert.equal(r1.value.refreshToken, null);
  assert.notEqual(r1.value.accessToken, s0.accessToken);
  await waitForEvent(page, "TOKEN_REFRESHED", { count: 2, timeout: 8_000 }); // one from the timer
  assertRefreshedInTime(await events(page));

  // me() still goes out with the bearer token, cross-origin.
  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.equal(who.value.email, "admin@example.com");

  // logout(): the server revokes the session and clears the cookie (only if it was sent and the
  // reply's Set-Cookie accepted: credentials again).
  await page.evaluate(() => client.logout());
  assert.equal(await refreshCookie(context, cookie.url), null, "logout cleared the cookie");
  const stats = await getStats(cookie.url);
  assert.deepEqual(route(stats, "POST /auth/logout").statuses, { 200: 1 });
  const refreshes = route(stats, "POST /auth/refresh");
  assert.ok(refreshes.count >= 2 && refreshes.statuses["200"] === refreshes.count, JSON.stringify(refreshes));
  assert.equal(totalStatus(stats, 401), 0, JSON.stringify(stats.routes));
  await requests.settled();
  const toApi = requests.filter((q) => q.origin === cookie.url && q.method !== "OPTIONS");
  assert.ok(toApi.some((q) => q.path === "/auth/refresh"));
  assert.equal((await eventNames(page)).at(-1), "SIGNED_OUT");
  assert.deepEqual(pageErrors(page), []);
});

// ---------------------------------------------------------------------------------------------
// 2. A backend with its own field names: a fake auth server

const FAKE_SECRET = new TextEncoder().encode("client-options-fake-auth-secret-0123456789");
const FAKE_USER = "ada";
const FAKE_PASSWORD = "p@ss w+rd&=/é"; // characters that must be encoded in a form or JSON

/**
 * A fake auth API on 127.0.0.1 with its own shape:
 * - `POST /session`, JSON or form `{ login, secret }` → `{ jwt, renew, ttl, token_type }`;
 * - `POST /session/renew`, the refresh token as `?rt=` or JSON `{ renew }` → a new pair (rotation);
 * - `GET /whoami` with a bearer token it issued → `{ login }`.
 * Access tokens are HS256 JWTs without `iat`; `state.loginExp` / `state.refreshExp` give them
 * an `exp` that many seconds ahead (null: no `exp`). Refresh tokens are opaque strings with `+`,
 * `/` and `=` in them. `state.loginReply` / `state.refreshReply` replace the next replies with
 * `{ status, type, body }`. Every request is recorded in `seen` (preflights included). CORS
 * allows `pageOrigin` with credentials, `Authorization` and `Content-Type`.
 */
async function startFakeAuth(t, pageOrigin) {
  const seen = [];
  const issued = []; // { access, refresh, exp } in order
  const state = {
    ttl: 2,
    loginExp: null,
    refreshExp: null,
    loginReply: null,
    refreshReply: null,
    live: new Set(), // refresh tokens not yet used
  };

  async function issue(expIn) {
    const n = issued.length;
    let jwt = new SignJWT({ login: FAKE_USER, role: "editor", n })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(FAKE_USER)
      .setJti(randomBytes(8).toString("hex"));
    const exp = expIn === null ? null : Math.floor(Date.now() / 1000) + expIn;
    if (exp !== null) jwt = jwt.setExpirationTime(exp);
    const access = await jwt.sign(FAKE_SECRET);
    const refresh = `rt+${n}/${randomBytes(9).toString("base64url")}=`;
    issued.push({ access, refresh, exp });
    state.live.add(refresh);
    return { access, refresh };
  }

  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url, "http://fake.invalid");
    seen.push({
      method: req.method,
      path: url.pathname,
      search: url.search,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body,
      at: Date.now(),
    });
    const cors =
      req.headers.origin === pageOrigin
        ? {
            "access-control-allow-origin": pageOrigin,
            "access-control-allow-credentials": "true",
            vary: "Origin",
          }
        : {};
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "Authorization, Content-Type",
        "access-control-max-age": "0",
      });
      res.end();
      return;
    }
    const send = (status, value, type = "application/json") => {
      const headers = { ...cors, "cache-control": "no-store" };
      if (type) headers["content-type"] = type;
      res.writeHead(status, headers);
      res.end(typeof value === "string" ? value : JSON.stringify(value));
    };
    const canned = (reply) => send(reply.status, reply.body ?? "", reply.type === undefined ? "application/json" : reply.type);
    const contentType = req.headers["content-type"] ?? "";

    if (req.method === "POST" && url.pathname === "/session") {
      if (state.loginReply) return canned(state.loginReply);
      let creds = null;
      if (contentType.startsWith("application/json")) {
        try {
          creds = JSON.parse(body);
        } catch {}
      } else if (contentType.startsWith("application/x-www-form-urlencoded")) {
        creds = Object.fromEntries(new URLSearchParams(body));
      }
      if (!creds || typeof creds.login !== "string" || typeof creds.secret !== "string") {
        return send(422, { detail: [{ type: "missing", loc: ["body", "login"], msg: "Field required" }] });
      }
      if (creds.login !== FAKE_USER || creds.secret !== FAKE_PASSWORD) {
        return send(401, { detail: "Incorrect username or password" });
      }
      const pair = await issue(state.loginExp);
      return send(200, { jwt: pair.access, renew: pair.refresh, ttl: state.ttl, token_type: "bearer" });
    }
    if (req.method === "POST" && url.pathname === "/session/renew") {
      if (state.refreshReply) return canned(state.refreshReply);
      let token = url.searchParams.get("rt");
      if (token === null && contentType.startsWith("application/json")) {
        try {
          token = JSON.parse(body).renew ?? null;
        } catch {}
      }
      if (token === null) return send(422, { detail: [{ type: "missing", loc: ["body", "renew"], msg: "Field required" }] });
      if (!state.live.delete(token)) return send(401, { detail: "Invalid refresh token" });
      const pair = await issue(state.refreshExp);
      return send(200, { jwt: pair.access, renew: pair.refresh, ttl: state.ttl, token_type: "bearer" });
    }
    if (req.method === "GET" && url.pathname === "/whoami") {
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      if (!issued.some((p) => p.access === token)) return send(401, { detail: "Not authenticated" });
      return send(200, { login: FAKE_USER });
    }
    return send(404, { detail: "Not Found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    seen,
    issued,
    state,
    /** Requests to `path`, preflights left out. */
    requests: (path) => seen.filter((q) => q.path === path && q.method !== "OPTIONS"),
  };
}

/** Client options for the fake server; `overrides` replace whole option groups. */
const fakeOptions = (fake, overrides = {}) => ({
  baseUrl: fake.origin,
  endpoints: { login: "/session", refresh: "/session/renew", logout: null, me: "/whoami" },
  login: { encoding: "json", usernameField: "login", passwordField: "secret" },
  responseFields: { accessToken: "jwt", refreshToken: "renew", expiresIn: "ttl" },
  refresh: { via: "json", field: "renew" },
  storage: "memory",
  ...overrides,
});

/** `client.login` with the page's clock read just before and after. */
const timedLogin = (page, username, password) =>
  page.evaluate(
    async ([u, p]) => {
      const before = Date.now();
      const result = await window.__try(async () => window.__plain(await client.login(u, p)));
      return { before, after: Date.now(), result };
    },
    [username, password],
  );

test("fake API: JSON login with custom fields, custom reply fields, expires_in, refresh by JSON field `renew`", async (t) => {
  const fake = await startFakeAuth(t, host.url);
  fake.state.refreshExp = 30; // refreshed tokens carry exp 30 s ahead, but ttl 2 says sooner
  const { page } = await openClient(t, browser, host.url, fakeOptions(fake));

  const { before, after, result } = await timedLogin(page, FAKE_USER, FAKE_PASSWORD);
  assert.ok(result.ok, `login failed: ${JSON.stringify(result.error)}`);
  const s0 = result.value;

  // The login request: POST, JSON, exactly the configured field names.
  const [sentLogin, ...moreLogins] = fake.requests("/session");
  assert.equal(moreLogins.length, 0);
  assert.equal(sentLogin.method, "POST");
  assert.match(sentLogin.headers["content-type"], /^application\/json\b/);
  assert.equal(sentLogin.search, "");
  assert.deepEqual(JSON.parse(sentLogin.body), { login: FAKE_USER, secret: FAKE_PASSWORD });

  // The session is read from `jwt` / `renew`; without exp, expiresAt is receipt + ttl.
  assert.equal(s0.accessToken, fake.issued[0].access);
  assert.equal(s0.refreshToken, fake.issued[0].refresh);
  assert.equal(s0.claims.exp, undefined, "the login token has no exp");
  assert.equal(s0.claims.login, FAKE_USER);
  assert.equal(typeof s0.expiresAt, "number");
  assert.ok(
    s0.expiresAt >= before + 2000 && s0.expiresAt <= after + 2000,
    `expiresAt ${s0.expiresAt} is not receipt + 2 s (login ran ${before}..${after})`,
  );

  // The timer refreshes before that, sending `{ renew: <refresh token> }` as JSON.
  let log = await waitForEvent(page, "TOKEN_REFRESHED", { timeout: 5_000 });
  const first = log.find((e) => e.event === "TOKEN_REFRESHED");
  assert.ok(first.at < s0.expiresAt, `refreshed at ${first.at}, expiry ${s0.expiresAt}`);
  const s1 = first.session;
  assert.equal(s1.accessToken, fake.issued[1].access);
  assert.equal(s1.refreshToken, fake.issued[1].refresh, "the rotated refresh token is kept");
  // This token has exp (30 s ahead) and ttl 2: the contract's expiresAt is "from exp", but the
  // client must act on the earlier of the two and refresh again within the 2 seconds.
  assert.equal(s1.claims.exp, fake.issued[1].exp);
  assert.equal(s1.expiresAt, fake.issued[1].exp * 1000);
  log = await waitForEvent(page, "TOKEN_REFRESHED", { count: 2, timeout: 5_000 });
  const second = log.filter((e) => e.event === "TOKEN_REFRESHED")[1];
  assert.ok(
    second.at < first.at + 2000,
    `second refresh at +${second.at - first.at} ms: ttl 2 s was not honoured (exp was ${fake.issued[1].exp * 1000 - first.at} ms away)`,
  );

  const who = await me(page);
  assert.ok(who.ok, JSON.stringify(who.error));
  assert.deepEqual(who.value, { login: FAKE_USER });
  await page.evaluate(() => client.dispose());

  const renews = fake.requests("/session/renew");
  assert.ok(renews.length >= 2, `${renews.length} refresh requests`);
  renews.forEach((q, i) => {
    assert.equal(q.method, "POST");
    assert.match(q.headers["content-type"] ?? "", /^application\/json\b/, `refresh ${i} content type`);
    assert.equal(q.search, "", `refresh ${i} has no query`);
    assert.deepEqual(JSON.parse(q.body), { renew: fake.issued[i].refresh }, `refresh ${i} body`);
    assert.equal(q.headers.authorization, undefined, "no bearer token on the refresh endpoint");
  });
  const [whoami] = fake.requests("/whoami");
  assert.ok(fake.issued.some((p) => `Bearer ${p.access}` === whoami.headers.authorization));
  assert.equal(fake.requests("/session").length, 1);
  const names = await eventNames(page);
  for (const unwanted of ["SESSION_EXPIRED", "SIGNED_OUT", "REFRESH_FAILED"]) {
    assert.ok(!names.includes(unwanted), `${unwanted} in ${names}`);
  }
  assert.deepEqual(pageErrors(page), []);
});

test("fake API: form login with custom fields; refresh by query parameter `rt`; logout: null sends nothing", async (t) => {
  const fake = await startFakeAuth(t, host.url);
  const { page } = await openClient(
    t,
    browser,
    host.url,
    fakeOptions(fake, {
      login: { encoding: "form", usernameField: "login", passwordField: "secret" },
      refresh: { via: "query", field: "rt" },
    }),
  );

  const { before, after, result } = await timedLogin(page, FAKE_USER, FAKE_PASSWORD);
  assert.ok(result.ok, `login failed: ${JSON.stringify(result.error)}`);
  const s0 = result.value;
  const [sentLogin] = fake.requests("/session");
  assert.equal(sentLogin.method, "POST");
  assert.match(sentLogin.headers["content-type"], /^application\/x-www-form-urlencoded\b/);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(sentLogin.body)), {
    login: FAKE_USER,
    secret: FAKE_PASSWORD,
  });
  assert.ok(s0.expiresAt >= before + 2000 && s0.expiresAt <= after + 2000, `expiresAt ${s0.expiresAt}`);
  assert.equal(s0.refreshToken, fake.issued[0].refresh);

  const log = await waitForEvent(page, "TOKEN_REFRESHED", { timeout: 5_000 });
  const first = log.find((e) => e.event === "TOKEN_REFRESHED");
  assert.ok(first.at < s0.expiresAt, `refreshed at ${first.at}, expiry ${s0.expiresAt}`);
  assert.equal(first.session.refreshToken, fake.issued[1].refresh);
  await page.evaluate(() => client.dispose());

  const [renew] = fake.requests("/session/renew");
  assert.equal(renew.method, "POST");
  assert.deepEqual(renew.query, { rt: fake.issued[0].refresh });
  assert.equal(renew.search, `?rt=${encodeURIComponent(fake.issued[0].refresh)}`, "+, / and = are percent-encoded");
  assert.equal(renew.body, "", "no body");
  assert.doesNotMatch(renew.headers["content-type"] ?? "", /json/);

  // logout with endpoints.logout = null: local state only, no request. A fresh client with
  // long tokens, so that no timer refresh runs alongside.
  fake.state.ttl = 300;
  await createFreshClient(page, fakeOptions(fake, { refresh: { via: "query", field: "rt" } }));
  await loginOk(page, FAKE_USER, FAKE_PASSWORD);
  const requestsBefore = fake.seen.length;
  const out = await page.evaluate(() => window.__try(() => client.logout()));
  assert.deepEqual(out, { ok: true, value: undefined });
  assert.equal(await session(page), null);
  assert.equal((await eventNames(page)).at(-1), "SIGNED_OUT");
  assert.equal(fake.seen.length, requestsBefore, "logout sent no request");
  assert.deepEqual(pageErrors(page), []);
});

/** Replaces `window.client` (disposing the old one) and waits for INITIAL_SESSION. */
function createFreshClient(page, options) {
  return page.evaluate(async (options) => {
    window.client?.dispose();
    window.events = [];
    window.client = new window.tk.AuthClient(options);
    window.client.onAuthStateChange((event, session) => {
      window.events.push({ event, at: Date.now(), session: window.__plain(session) });
    });
    const deadline = Date.now() + 5000;
    while (window.events.length === 0 && Date.now() < deadline) await window.__sleep(10);
  }, options);
}

test("fake API: replies without the configured fields, empty, not JSON, or from a wrong endpoint", async (t) => {
  // client-common.test.mjs covers 422, an HTML 502, an HTML 200 and a JSON 200 without
  // access_token on the default fields; these are the cases it does not.
  const fake = await startFakeAuth(t, host.url);
  fake.state.ttl = 300;
  const { page } = await openClient(t, browser, host.url, fakeOptions(fake, { autoRefresh: false }));

  const token = (await new SignJWT({ sub: "x" }).setProtectedHeader({ alg: "HS256" }).sign(FAKE_SECRET));
  const cases = [
    // The backend's default names, not the configured ones: the configured field is missing.
    [{ status: 200, body: JSON.stringify({ access_token: token, refresh_token: "r", expires_in: 300 }) }, "protocol", 200],
    [{ status: 200, body: JSON.stringify({ jwt: null, renew: "r", ttl: 300 }) }, "protocol", 200],
    [{ status: 200, body: JSON.stringify({ jwt: 12345, renew: "r", ttl: 300 }) }, "protocol", 200],
    [{ status: 200, body: JSON.stringify([token]) }, "protocol", 200],
    [{ status: 200, body: JSON.stringify(token) }, "protocol", 200],
    [{ status: 200, body: "" }, "protocol", 200],
    [{ status: 204, body: "", type: null }, "protocol", 204],
    [{ status: 200, body: `{"jwt": "${token.slice(0, 20)}`, type: "application/json" }, "protocol", 200],
    [{ status: 200, body: "OK", type: "text/plain" }, "protocol", 200],
    [{ status: 404, body: JSON.stringify({ detail: "Not Found" }) }, "protocol", 404],
    [{ status: 500, body: "" }, "server", 500],
    [{ status: 503, body: "upstream connect error", type: "text/plain" }, "server", 503],
  ];
  const actual = [];
  const expected = [];
  for (const [reply, code, status] of cases) {
    fake.state.loginReply = reply;
    const r = await login(page, FAKE_USER, FAKE_PASSWORD);
    const label = `${reply.status} ${reply.type === undefined ? "application/json" : reply.type} ${reply.body.slice(0, 60)}`;
    actual.push([label, r.ok ? "resolved" : [r.error.isAuthError, r.error.code, r.error.status]]);
    expected.push([label, [true, code, status]]);
  }
  fake.state.loginReply = null;
  assert.deepEqual(actual, expected);
  assert.equal(await session(page), null);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION"], "no failed login changed the state");

  // The same on refresh: a 200 without `jwt` is `protocol`, and the still-valid session is kept.
  const s0 = await loginOk(page, FAKE_USER, FAKE_PASSWORD);
  fake.state.refreshReply = { status: 200, body: JSON.stringify({ access_token: token, refresh_token: "r" }) };
  const bad = await page.evaluate(() => window.__try(() => client.refresh()));
  assert.deepEqual([bad.ok, bad.error?.isAuthError, bad.error?.code, bad.error?.status], [false, true, "protocol", 200]);
  assert.deepEqual(await session(page), s0, "a protocol error on refresh keeps the session");
  fake.state.refreshReply = null;
  const [renew] = fake.requests("/session/renew");
  assert.deepEqual(JSON.parse(renew.body), { renew: s0.refreshToken });
  const log = await events(page);
  const sinceLogin = log.slice(log.findIndex((e) => e.event === "SIGNED_IN"));
  assert.deepEqual(sinceLogin.map((e) => e.event), ["SIGNED_IN", "REFRESH_FAILED"]);
  assert.deepEqual(sinceLogin[1].session, s0, "REFRESH_FAILED carries the kept session");
  assert.ok(!(await eventNames(page)).includes("SIGNED_OUT"));
  assert.deepEqual(pageErrors(page), []);
});

// ---------------------------------------------------------------------------------------------
// 3. Listeners

test("a listener that throws does not stop the others, and nothing escapes as an uncaught error", async (t) => {
  await resetServer(host.url);
  const { page } = await openClient(t, browser, host.url, null);
  const consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });

  const r = await page.evaluate(async () => {
    const log = { thrower: [], first: [], second: [], late: [] };
    const client = (window.client = new tk.AuthClient({ baseUrl: location.origin, storage: "memory" }));
    client.onAuthStateChange((event) => {
      log.thrower.push(event);
      throw new Error(`listener boom on ${event}`);
    });
    client.onAuthStateChange((event, s) => log.first.push([event, s === null ? null : s.accessToken]));
    client.onAuthStateChange((event) => {
      throw `a string thrown on ${event}`; // not an Error
    });
    client.onAuthStateChange((event) => log.second.push(event));
    const wait = async (cond) => {
      const deadline = Date.now() + 5000;
      while (!cond() && Date.now() < deadline) await __sleep(10);
    };
    await wait(() => log.second.length >= 1);
    const signedIn = await __try(async () => __plain(await client.login("user", "user-password")));
    // Subscribed while signed in: INITIAL_SESSION (with the session) goes to a throwing listener
    // and the one after it, through the per-subscriber path.
    client.onAuthStateChange((event) => {
      throw new Error(`late boom on ${event}`);
    });
    client.onAuthStateChange((event, s) => log.late.push([event, s === null ? null : s.accessToken]));
    await wait(() => log.late.length >= 1);
    const refreshed = await __try(async () => __plain(await client.refresh()));
    const loggedOut = await __try(() => client.logout());
    await wait(() => log.second.length >= 4 && log.late.length >= 3);
    return { log, signedIn, refreshed, loggedOut, authenticated: client.isAuthenticated() };
  });

  assert.ok(r.signedIn.ok, `login failed: ${JSON.stringify(r.signedIn.error)}`);
  assert.ok(r.refreshed.ok, `refresh failed: ${JSON.stringify(r.refreshed.error)}`);
  assert.deepEqual(r.loggedOut, { ok: true, value: undefined });
  assert.equal(r.authenticated, false);
  const [a0, a1] = [r.signedIn.value.accessToken, r.refreshed.value.accessToken];
  const all = ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"];
  assert.deepEqual(r.log.thrower, all, "the throwing listener was called every time");
  assert.deepEqual(r.log.first, [["INITIAL_SESSION", null], ["SIGNED_IN", a0], ["TOKEN_REFRESHED", a1], ["SIGNED_OUT", null]]);
  assert.deepEqual(r.log.second, all, "a listener after two throwing ones");
  assert.deepEqual(r.log.late, [["INITIAL_SESSION", a0], ["TOKEN_REFRESHED", a1], ["SIGNED_OUT", null]]);

  // Each throw is reported on the console (2 throwers × 4 events + the late one × 3).
  const threw = () => consoleErrors.filter((text) => text.includes("listener threw"));
  const deadline = Date.now() + 3000;
  while (threw().length < 11 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(threw().length, 11, `console errors: ${JSON.stringify(consoleErrors)}`);
  for (const event of all) {
    assert.ok(threw().some((text) => text.includes(`listener boom on ${event}`)), `the ${event} throw was reported`);
  }
  assert.ok(threw().some((text) => text.includes("a string thrown on SIGNED_IN")));
  assert.deepEqual(pageErrors(page), [], "no uncaught error escaped");

  const stats = await getStats(host.url);
  assert.deepEqual(
    [route(stats, "POST /auth/login").statuses, route(stats, "POST /auth/refresh").statuses, route(stats, "POST /auth/logout").statuses],
    [{ 200: 1 }, { 200: 1 }, { 200: 1 }],
  );
});
