// Hostile surroundings, against the companion server, through the npm package in Chromium:
// - a custom storage whose Promises never settle holds the client up for 5 s (STORAGE_TIMEOUT,
//   src/js/driver/storage.js), not forever, keeps the session in memory, and lets the cross-tab
//   lock go;
// - a replaced `window.fetch` that throws synchronously is a `network` AuthError on every path
//   (the fast path of `client.fetch()` in src/js/driver/client.js, its slow path, and the
//   client's own login and refresh requests), and the client works on;
// - `storage` events about `sessionStorage` (an iframe's `sessionStorage.clear()`) do not sign
//   out a `localStorage` session; a `localStorage.clear()` in another tab still does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import { USERS, eventNames, loginOk, openClient, openTabs, startTestServer, waitForEvent } from "./client-helpers.mjs";

/** src/js/driver/storage.js STORAGE_TIMEOUT, as the README documents it. */
const STORAGE_TIMEOUT_MS = 5000;

let browser;
let server;

before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startTestServer()]);
});
after(async () => {
  await Promise.all([browser?.close(), server?.stop()]);
});

/**
 * Creates `window.client` with a Promise-returning custom storage over a Map; the methods named
 * in `window.stalled` (a Set, filled by the test) return Promises that never settle.
 */
function stallableClient(page, stalledFromStart) {
  return page.evaluate(
    ([baseUrl, stalledFromStart]) => {
      const items = new Map();
      window.stalled = new Set(stalledFromStart);
      const call = (name, f) => (window.stalled.has(name) ? new Promise(() => {}) : Promise.resolve().then(f));
      window.storageKey = `tk-stall-${Math.random()}`;
      window.events = [];
      window.client = new window.tk.AuthClient({
        baseUrl,
        storageKey: window.storageKey,
        storage: {
          getItem: (key) => call("getItem", () => items.get(key) ?? null),
          setItem: (key, value) => call("setItem", () => void items.set(key, value)),
          removeItem: (key) => call("removeItem", () => void items.delete(key)),
        },
      });
      window.client.onAuthStateChange((event) => window.events.push({ event, at: Date.now() }));
    },
    [server.url, stalledFromStart],
  );
}

/** Runs `call` (a function of `window.client`, as source text) in the page: its outcome and time. */
function timed(page, source, limitMs) {
  return page.evaluate(
    async ([source, limitMs]) => {
      const started = Date.now();
      const call = new Function("client", `return (${source})(client);`);
      const result = await window.__try(() => window.__within(call(window.client), limitMs, source));
      return { ...result, took: Date.now() - started };
    },
    [source, limitMs],
  );
}

test("hardening: a custom storage whose getItem never settles delays the start by 5 s, not forever", async (t) => {
  const { page } = await openClient(t, browser, server.url, null);
  await stallableClient(page, ["getItem"]);
  const { username, password } = USERS.user;
  const login = await timed(page, `(client) => client.login(${JSON.stringify(username)}, ${JSON.stringify(password)})`, 9000);
  assert.ok(login.ok, `login: ${JSON.stringify(login.error)}`);
  assert.ok(
    login.took >= STORAGE_TIMEOUT_MS - 100 && login.took < STORAGE_TIMEOUT_MS + 2500,
    `login waited ${login.took} ms for the stalled start-up read`,
  );
  const next = await timed(page, "(client) => client.getAccessToken()", 1000);
  assert.ok(next.ok && typeof next.value === "string", JSON.stringify(next));
  assert.ok(next.took < 500, `the next call waited ${next.took} ms`);
  assert.deepEqual(await eventNames(page), ["INITIAL_SESSION", "SIGNED_IN"]);
});

test("hardening: a stalled setItem and a stalled read under the lock each hold the client up for 5 s; the session stays, the lock goes", async (t) => {
  const { page } = await openClient(t, browser, server.url, null);
  await stallableClient(page, ["setItem"]);
  const { username, password } = USERS.user;
  const login = await timed(page, `(client) => client.login(${JSON.stringify(username)}, ${JSON.stringify(password)})`, 9000);
  assert.ok(login.ok, `login: ${JSON.stringify(login.error)}`);
  assert.ok(
    login.took >= STORAGE_TIMEOUT_MS - 100 && login.took < STORAGE_TIMEOUT_MS + 2500,
    `login waited ${login.took} ms for the stalled write`,
  );
  const afterLogin = await page.evaluate(() => ({
    session: window.client.session()?.accessToken ?? null,
    lastError: window.client.getDiagnostics().lastError,
  }));
  assert.equal(afterLogin.session, login.value.accessToken, "the session is kept in memory");
  assert.equal(afterLogin.lastError?.code, "storage");
  assert.match(afterLogin.lastError.message, /setItem/);
  assert.doesNotMatch(afterLogin.lastError.message, /eyJ/, "no token in the message");

  // Now reads stall, writes work: the refresh re-reads storage under the cross-tab lock.
  await page.evaluate(() => {
    window.stalled.clear();
    window.stalled.add("getItem");
  });
  const refresh = await timed(page, "(client) => client.refresh()", 9000);
  assert.ok(refresh.ok, `refresh: ${JSON.stringify(refresh.error)}`);
  assert.ok(
    refresh.took >= STORAGE_TIMEOUT_MS - 100 && refresh.took < STORAGE_TIMEOUT_MS + 2500,
    `refresh waited ${refresh.took} ms for the stalled read under the lock`,
  );
  assert.notEqual(refresh.value.accessToken, login.value.accessToken);
  const locks = await page.evaluate(async () => {
    await window.__sleep(20);
    const { held, pending } = await navigator.locks.query();
    const ours = (list) => list.filter((lock) => lock.name === `tokenkeeper:${window.storageKey}`).length;
    return { held: ours(held), pending: ours(pending), session: window.client.session()?.accessToken };
  });
  assert.deepEqual(
    locks,
    { held: 0, pending: 0, session: refresh.value.accessToken },
    "the lock was released and the refreshed session kept",
  );
  const logout = await timed(page, "(client) => client.logout()", 2000);
  assert.ok(logout.ok, JSON.stringify(logout));
});

test("hardening: a window.fetch that throws is a network AuthError on every path, and the client works on", async (t) => {
  const { page } = await openClient(t, browser, server.url, { storage: "memory" });
  const outcome = await page.evaluate(async ({ username, password }) => {
    const realFetch = window.fetch;
    const throwing = () => {
      throw new TypeError("fetch exploded");
    };
    const attempt = (f) => window.__try(() => window.__within(f(), 3000, "a call"));
    const results = {};
    window.fetch = throwing;
    results.signedOutFetch = await attempt(() => window.client.fetch("/auth/me"));
    results.login = await attempt(() => window.client.login(username, password));
    window.fetch = realFetch;
    results.realLogin = await attempt(() => window.client.login(username, password));
    window.fetch = throwing;
    // A fresh token in hand: the fast path of client.fetch() sends this one.
    results.fastPathFetch = await attempt(() => window.client.fetch("/auth/me"));
    results.refresh = await attempt(() => window.client.refresh());
    results.me = await attempt(() => window.client.me());
    results.kept = window.client.session() !== null;
    window.fetch = realFetch;
    results.afterwards = await attempt(async () => (await window.client.fetch("/auth/me")).status);
    results.meAfterwards = await attempt(async () => (await window.client.me()).email);
    return results;
  }, USERS.user);
  for (const path of ["signedOutFetch", "login", "fastPathFetch", "refresh", "me"]) {
    const result = outcome[path];
    assert.equal(result.ok, false, `${path} resolved`);
    assert.ok(result.error.isAuthError, `${path}: not an AuthError: ${JSON.stringify(result.error)}`);
    assert.equal(result.error.code, "network", `${path}: ${JSON.stringify(result.error)}`);
  }
  assert.ok(outcome.realLogin.ok, JSON.stringify(outcome.realLogin));
  assert.equal(outcome.kept, true, "failed requests keep the session");
  assert.deepEqual(outcome.afterwards, { ok: true, value: 200 });
  assert.deepEqual(outcome.meAfterwards, { ok: true, value: USERS.user.email });
});

test("hardening: an iframe's sessionStorage.clear() does not sign out a localStorage session; localStorage.clear() in another tab does", async (t) => {
  const { pages } = await openTabs(t, browser, server.url, 2, { storage: "local" });
  await loginOk(pages[0], USERS.user.username, USERS.user.password);
  await waitForEvent(pages[1], "SIGNED_IN");

  // A same-origin iframe in tab 0 writes and clears its sessionStorage, which tab 0 shares:
  // tab 0 gets `storage` events with `storageArea === sessionStorage` (key null for the clear).
  const seen = await pages[0].evaluate(async (origin) => {
    const heard = [];
    window.addEventListener("storage", (event) =>
      heard.push({ key: event.key, session: event.storageArea === sessionStorage }),
    );
    const frame = document.createElement("iframe");
    frame.src = `${origin}/__e2e_blank.html`;
    await new Promise((resolve) => {
      frame.onload = resolve;
      document.body.append(frame);
    });
    frame.contentWindow.sessionStorage.setItem("tokenkeeper", "{}");
    frame.contentWindow.sessionStorage.clear();
    await window.__sleep(300);
    return { heard, session: window.client.session() !== null };
  }, server.url);
  assert.deepEqual(
    seen.heard,
    [
      { key: "tokenkeeper", session: true },
      { key: null, session: true },
    ],
    "the sessionStorage events reached the page",
  );
  assert.equal(seen.session, true, "signed out by another area's events");
  assert.deepEqual(await eventNames(pages[0]), ["INITIAL_SESSION", "SIGNED_IN"]);

  // localStorage.clear() in the other tab removed the session: a sign-out here.
  await pages[1].evaluate(() => localStorage.clear());
  await waitForEvent(pages[0], "SIGNED_OUT", { timeout: 2000 });
  assert.equal(await pages[0].evaluate(() => window.client.session()), null);
});
