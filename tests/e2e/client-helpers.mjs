// Helpers for the AuthClient end-to-end suites (client-*.test.mjs): the companion server's
// test-mode routes, a page with a client and an event log, request recording, and a "foreign"
// origin that records what it receives.
//
// Conventions inside the page (set up by `openClient`):
// - `window.tk` is the initialised package, `window.client` the AuthClient under test;
// - `window.events` logs every auth event: `{ event, at, session }` (`session` as a plain object);
// - `__try(fn)` runs `fn` and returns `{ ok: true, value }` or `{ ok: false, error }`, with the
//   error reduced to plain data (`code`, `status`, `message`, `instanceof` checks), because
//   `page.evaluate` can only return serialisable values.
import { createServer } from "node:http";
import assert from "node:assert/strict";
import { openClientPage, startServer } from "./harness.mjs";

/** Seed users (www/README.md). */
export const USERS = {
  admin: { username: "admin", email: "admin@example.com", password: "admin-password" },
  user: { username: "user", email: "user@example.com", password: "user-password" },
  inactive: { username: "inactive", email: "inactive@example.com", password: "inactive-password" },
};

/** A fixed HS256 secret (≥ 32 bytes) for servers that must accept their tokens after a restart. */
export const FIXED_SECRET = "tokenkeeper-e2e-fixed-secret-0123456789abcdef";

/** The companion server in test mode, plus `args`. */
export function startTestServer(args = []) {
  return startServer(["--test-mode", ...args]);
}

async function serverJson(base, path, init) {
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? "GET"} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** `GET /__stats`. */
export const getStats = (base) => serverJson(base, "/__stats");

/** `POST /__reset`: forgets sessions, counts, faults and login failures. */
export const resetServer = (base) => serverJson(base, "/__reset", { method: "POST" });

/** `POST /__faults` (see www/README.md, "Test mode"). */
export const armFault = (base, fault) =>
  serverJson(base, "/__faults", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(fault),
  });

/** The counts of one route (`"POST /auth/refresh"`), zeroes when it was never called. */
export function route(stats, key) {
  return stats.routes[key] ?? { count: 0, statuses: {} };
}

/** Requests with `status` (a string like `"401"`) on `key`. */
export function countStatus(stats, key, status) {
  return route(stats, key).statuses[String(status)] ?? 0;
}

/** Requests with `status` across every route. */
export function totalStatus(stats, status) {
  return Object.values(stats.routes).reduce((n, r) => n + (r.statuses[String(status)] ?? 0), 0);
}

/** The claims of a JWT, decoded in Node (no signature check). */
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

/** Defined in every page of a client context, also after a reload. */
function pageHelpers() {
  window.__plain = (s) =>
    s === null || s === undefined
      ? s
      : {
          accessToken: s.accessToken,
          refreshToken: s.refreshToken,
          expiresAt: s.expiresAt,
          claims: s.claims,
        };
  window.__err = (e) => ({
    isAuthError: Boolean(window.tk && e instanceof window.tk.AuthError),
    isError: e instanceof Error,
    name: e?.name,
    code: e?.code,
    status: e?.status,
    message: String(e?.message),
    string: String(e),
    stack: String(e?.stack ?? ""),
  });
  window.__try = async (fn) => {
    try {
      return { ok: true, value: await fn() };
    } catch (e) {
      return { ok: false, error: window.__err(e) };
    }
  };
  window.__sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Rejects with a plain Error (not an AuthError) if `promise` takes longer than `ms`. */
  window.__within = (promise, ms, what) =>
    Promise.race([
      promise,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`timeout: ${what} took over ${ms} ms`)), ms),
      ),
    ]);
}

/** Imports and initialises the package in `page` again (after a reload). */
export async function loadPackage(page) {
  await page.evaluate(async () => {
    const tk = await import("/pkg/tokenkeeper.js");
    await tk.default();
    window.tk = tk;
  });
}

/**
 * Records the requests `page` makes: `{ method, url, path, origin, at, authorization, body }`, with
 * `at` the time (ms) the request left the browser, as seen from Node on the same clock.
 * Call `await log.settled()` before reading the `authorization` fields.
 * Node hears of a request late by however long its event loop was busy, so under load the gaps
 * between `at`s are off by tens of milliseconds. `await entry.sentAt()` is the time the browser
 * started the request (Playwright's `timing().startTime`, the same wall clock), once it has an
 * answer; `at` if the browser gave none.
 */
export function recordRequests(page) {
  const log = [];
  const pending = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    const entry = {
      method: request.method(),
      url: request.url(),
      path: url.pathname,
      origin: url.origin,
      at: Date.now(),
      authorization: null,
      body: request.postData(),
      sentAt: async () => {
        await request.response().catch(() => null);
        const { startTime } = request.timing();
        return startTime > 0 ? startTime : entry.at;
      },
    };
    log.push(entry);
    pending.push(
      request
        .allHeaders()
        .then((headers) => {
          entry.authorization = headers.authorization ?? null;
        })
        .catch(() => {}),
    );
  });
  log.settled = () => Promise.all(pending);
  return log;
}

/**
 * A new browser context with a page on `origin` that has the package loaded, `window.events`,
 * and (unless `options` is null) `window.client = new AuthClient({ baseUrl: origin, ...options })`
 * subscribed to `window.events`. The context is closed after the test.
 */
export async function openClient(t, browser, origin, options = {}) {
  // The blank page is fulfilled by Playwright, so Chromium does not know it came from loopback
  // and Local Network Access would block its requests to other 127.0.0.1 ports (the foreign
  // origins below). Real apps and APIs share an address space; grant what that gives.
  const context = await browser.newContext({ permissions: ["local-network-access"] });
  t.after(() => context.close());
  await context.addInitScript(pageHelpers);
  const page = await openClientPage(context, origin, { allowConsoleErrors: true });
  const requests = recordRequests(page);
  if (options !== null) await createClient(page, { baseUrl: origin, ...options });
  return { context, page, requests };
}

/**
 * Creates `window.client` in `page` and subscribes it to a fresh `window.events`; waits for
 * INITIAL_SESSION. Returns that first event.
 */
export async function createClient(page, options) {
  return page.evaluate(async (options) => {
    window.events = [];
    window.client = new window.tk.AuthClient(options);
    window.unsubscribe = window.client.onAuthStateChange((event, session) => {
      window.events.push({ event, at: Date.now(), session: window.__plain(session) });
    });
    const deadline = Date.now() + 5000;
    while (window.events.length === 0 && Date.now() < deadline) await window.__sleep(10);
    return window.events[0] ?? null;
  }, options);
}

/** The events logged so far in `page`. */
export const events = (page) => page.evaluate(() => window.events);

/** Event names logged so far. */
export const eventNames = async (page) => (await events(page)).map((e) => e.event);

/** Waits until `page` has logged `count` events named `name` (bounded by `timeout`). */
export async function waitForEvent(page, name, { count = 1, timeout = 10_000 } = {}) {
  try {
    await page.waitForFunction(
      ([name, count]) => window.events.filter((e) => e.event === name).length >= count,
      [name, count],
      { timeout, polling: 50 },
    );
  } catch (error) {
    const seen = await eventNames(page).catch(() => "(page gone)");
    throw new Error(`no ${count}× ${name} within ${timeout} ms; events: ${JSON.stringify(seen)}`, {
      cause: error,
    });
  }
  return events(page);
}

/** Waits until the browser's clock passes `ms` (epoch milliseconds). */
export async function waitUntil(page, ms, { timeout = 15_000 } = {}) {
  await page.waitForFunction((ms) => Date.now() > ms, ms, { timeout, polling: 50 });
}

/** `client.login(username, password)` in the page: `{ ok, value: session }` or `{ ok, error }`. */
export const login = (page, username, password) =>
  page.evaluate(
    ([u, p]) => window.__try(async () => window.__plain(await window.client.login(u, p))),
    [username, password],
  );

/** `client.login(...)` that must succeed; returns the session. */
export async function loginOk(page, username, password) {
  const result = await login(page, username, password);
  assert.ok(result.ok, `login(${username}) failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

/** `client.session()` as a plain object. */
export const session = (page) => page.evaluate(() => window.__plain(window.client.session()));

/**
 * `client.fetch(url, init)` in the page: `{ ok: true, value: { status, body } }` (the body parsed
 * as JSON when it is JSON) or `{ ok: false, error }`.
 */
export const clientFetch = (page, url, init = undefined) =>
  page.evaluate(
    ([url, init]) =>
      window.__try(async () => {
        const response = await window.client.fetch(url, init);
        const text = await response.text();
        let body = text;
        try {
          body = JSON.parse(text);
        } catch {}
        return { status: response.status, body };
      }),
    [url, init],
  );

/** `client.me()` in the page. */
export const me = (page) => page.evaluate(() => window.__try(() => window.client.me()));

/**
 * A "foreign" origin: a plain node:http server on 127.0.0.1 that records every request (headers
 * included), answers CORS preflights by allowing what was asked, and replies 200 JSON with
 * `Access-Control-Allow-Origin: *`. Closed after the test.
 */
export async function startForeignOrigin(t) {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
      // Echo what the preflight asks for, so that a leaked Authorization header would really be
      // sent (and seen here) rather than blocked by CORS.
      "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
      "access-control-max-age": "0",
    };
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { ...cors, "content-type": "application/json" });
      res.end(JSON.stringify({ foreign: true, path: req.url }));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  t.after(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return {
    origin,
    seen,
    /** Requests (preflights included) that carried an Authorization header. */
    withAuthorization: () => seen.filter((r) => r.headers.authorization !== undefined),
    /** Preflights that asked to send an Authorization header. */
    preflightsAskingForAuthorization: () =>
      seen.filter(
        (r) =>
          r.method === "OPTIONS" &&
          /(^|,)\s*authorization\s*(,|$)/i.test(r.headers["access-control-request-headers"] ?? ""),
      ),
  };
}

/** A 127.0.0.1 port that nothing listens on (bound, then released). */
export async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Page errors (uncaught exceptions and unhandled rejections) recorded by `openPage`. */
export const pageErrors = (page) => page.problems.filter((p) => p.startsWith("pageerror"));

/**
 * How late Node may observe a request after the browser issued it. `at` is when Playwright's
 * `request` event reached Node, not when the page sent it, so a request seen up to this long
 * after `exp` may have left while its token was valid (one was seen at `exp` to the millisecond).
 * The authoritative check stays the server's count of 401s, which the tests assert as well.
 */
const OBSERVATION_LAG_MS = 25;

/** Checks each recorded API request's token expiry: none was sent with an expired token. */
export function assertNoExpiredTokenSent(requests, paths) {
  const checked = requests.filter((r) => paths.includes(r.path) && r.authorization);
  for (const r of checked) {
    const token = r.authorization.replace(/^Bearer /, "");
    const { exp } = jwtClaims(token);
    assert.ok(
      exp * 1000 + OBSERVATION_LAG_MS > r.at,
      `${r.method} ${r.path} was sent at ${r.at} with a token that expired at ${exp * 1000}`,
    );
  }
  return checked.length;
}

// ---------------------------------------------------------------------------------------------
// Many tabs (tabs*.test.mjs, resilience*.test.mjs): several pages of one browser context sharing
// a session, API traffic loops, and the refresh requests of all tabs in one list.
// ---------------------------------------------------------------------------------------------

// Hoisted like any import; kept here so the helpers above stay as they were.
import { openPage } from "./harness.mjs";

/**
 * Opens `count` pages ("tabs") of one new browser context on `origin`, each with the package
 * loaded, request recording, and (unless `options` is null) `window.client` made by
 * `createTabClient`. `initScript` runs in every page before its own scripts (e.g. to remove
 * `BroadcastChannel` or Web Locks); `beforeOpen(context)` runs before the first page opens (e.g.
 * to install Playwright's clock). The context is closed after the test.
 * Resolves with `{ context, pages, requests }` (`requests[i]` is tab i's `recordRequests` log).
 */
export async function openTabs(t, browser, origin, count, options = {}, { initScript, beforeOpen } = {}) {
  const context = await browser.newContext({ permissions: ["local-network-access"] });
  t.after(() => context.close());
  await context.addInitScript(pageHelpers);
  if (initScript) await context.addInitScript(initScript);
  if (beforeOpen) await beforeOpen(context);
  const blank = `${origin}/__e2e_blank.html`;
  await context.route(blank, (route) =>
    route.fulfill({ contentType: "text/html", body: "<!doctype html><title>e2e</title>" }),
  );
  const pages = [];
  const requests = [];
  for (let i = 0; i < count; i++) {
    const page = await openPage(context, blank, { allowConsoleErrors: true });
    requests.push(recordRequests(page));
    await loadPackage(page);
    if (options !== null) await createTabClient(page, { baseUrl: origin, ...options });
    pages.push(page);
  }
  return { context, pages, requests };
}

/**
 * `createClient`, plus one option the page must build itself: `storage: "custom-async"` is a
 * custom adapter whose methods return Promises and keep the value in `localStorage` under
 * `custom:<key>`. Tabs share it, but it raises no `storage` events the client listens to (those
 * are for `storage: "local"` only), so only the BroadcastChannel tells other tabs of a change.
 */
export async function createTabClient(page, options) {
  return page.evaluate(async (options) => {
    const resolved = { ...options };
    if (resolved.storage === "custom-async") {
      const tick = () => new Promise((resolve) => queueMicrotask(resolve));
      resolved.storage = {
        getItem: async (key) => (await tick(), localStorage.getItem(`custom:${key}`)),
        setItem: async (key, value) => (await tick(), localStorage.setItem(`custom:${key}`, value)),
        removeItem: async (key) => (await tick(), localStorage.removeItem(`custom:${key}`)),
      };
    }
    window.events = [];
    window.client = new window.tk.AuthClient(resolved);
    window.unsubscribe = window.client.onAuthStateChange((event, session) => {
      window.events.push({ event, at: Date.now(), session: window.__plain(session) });
    });
    const deadline = Date.now() + 5000;
    while (window.events.length === 0 && Date.now() < deadline) await window.__sleep(10);
    return window.events[0] ?? null;
  }, options);
}

/**
 * Starts app traffic in `page`: `client.fetch(path)` every `everyMs` until `stopApiLoop`. Each
 * call is logged in `window.apiCalls` as `{ at, ok, value: status }` or `{ at, ok: false, error }`.
 */
export async function startApiLoop(page, { path = "/dashboard", everyMs = 200 } = {}) {
  await page.evaluate(
    ([path, everyMs]) => {
      window.apiCalls = [];
      window.apiStop = false;
      window.apiLoop = (async () => {
        while (!window.apiStop) {
          const at = Date.now();
          const result = await window.__try(async () => (await window.client.fetch(path)).status);
          window.apiCalls.push({ at, ...result });
          await window.__sleep(everyMs);
        }
      })();
    },
    [path, everyMs],
  );
}

/** Stops the loop of `startApiLoop` and resolves with its calls. */
export const stopApiLoop = (page) =>
  page.evaluate(async () => {
    window.apiStop = true;
    await window.apiLoop;
    return window.apiCalls;
  });

/** `client.getDiagnostics()` in `page`. */
export const diagnostics = (page) => page.evaluate(() => window.client.getDiagnostics());

/** The requests to `path` recorded in `logs` (one log per tab), oldest first, each with `tab`. */
export function requestsTo(logs, path) {
  return logs
    .flatMap((log, tab) => log.filter((r) => r.path === path).map((r) => ({ ...r, tab })))
    .sort((a, b) => a.at - b.at);
}

/** The refresh token a recorded standard-profile refresh request presented. */
export const presentedRefreshToken = (request) => JSON.parse(request.body ?? "{}").refresh_token ?? null;

/**
 * The sessions `page` went through, from its events: the sign-in, then each refresh (its own or
 * adopted from another tab).
 */
export async function sessionChain(page) {
  return (await events(page))
    .filter((e) => e.event === "SIGNED_IN" || e.event === "TOKEN_REFRESHED")
    .map((e) => e.session);
}

/** Names of events in `page` that mean the session was lost. */
export async function lossEvents(page) {
  return (await eventNames(page)).filter((name) => name === "SIGNED_OUT" || name === "SESSION_EXPIRED");
}
