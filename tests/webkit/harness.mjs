// Plumbing for the WebKit end-to-end subset: Debian's WebKitGTK (MiniBrowser) driven over plain
// W3C WebDriver (./webdriver.mjs) against the companion server, under `xvfb-run -a`.
// Playwright cannot drive WebKitGTK (its WebKit is a patched build that cannot be downloaded
// here), so this suite has its own small harness; the server helpers come from tests/e2e/.
//
// - One WebKitWebDriver per test file (`startWebKit`), one WebDriver session per test
//   (`openBrowser`): a session is a fresh browser whose windows share storage and cookies, like
//   the tabs of one Playwright context.
// - Every window shows tests/webkit/static/index.html from the companion server, which loads the
//   package and the page helpers (see that file) on every load.
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot } from "../e2e/harness.mjs";
import { startTestServer } from "../e2e/client-helpers.mjs";
import { Session, startDriver } from "./webdriver.mjs";

export const webkitDriver = process.env.WEBKIT_WEBDRIVER ?? "/usr/bin/WebKitWebDriver";

/** The companion server in test mode, serving the WebKit test page; `args` as in tests/e2e/. */
export function startWebKitServer(args = []) {
  return startTestServer(["--static-dir", join(repoRoot, "tests", "webkit", "static"), ...args]);
}

/**
 * Starts WebKitWebDriver; `stop()` it after the file. `restart()` replaces it with a new one
 * (see `openBrowser`).
 */
export async function startWebKit() {
  let current = await startDriver(webkitDriver);
  return {
    get url() {
      return current.url;
    },
    stop: () => current.stop(),
    async restart() {
      await current.stop();
      current = await startDriver(webkitDriver);
    },
  };
}

/** How long a new session (a MiniBrowser launch, ~1 s) may take before it is retried. */
const SESSION_START_MS = 30_000;

/**
 * A new browser (WebDriver session) with one window on `origin`, closed after the test.
 * Resolves with that window; `browser.openWindow()` opens more on the same origin.
 *
 * Under load, WebKitWebDriver has been seen (about once in 45 launches) never to answer a new
 * session request; a test would then wait forever. So a launch that takes over 30 s is given up,
 * the driver restarted, and the launch tried once more (and reported as a diagnostic).
 */
export async function openBrowser(t, driver, origin) {
  let session;
  for (let attempt = 1; !session; attempt++) {
    try {
      session = await Session.create(driver.url, {}, { timeoutMs: SESSION_START_MS });
    } catch (error) {
      if (attempt === 2) throw error;
      t.diagnostic(`WebKit did not start within ${SESSION_START_MS} ms (${error.message}); restarting its driver`);
      await driver.restart();
    }
  }
  t.after(() => session.close().catch(() => {}));
  await session.timeouts({ script: 60_000 });
  const browser = { session, origin, current: await session.windowHandle(), windows: [] };
  browser.openWindow = async () => {
    const handle = await session.newWindow("window");
    return addWindow(browser, handle);
  };
  return addWindow(browser, browser.current);
}

async function addWindow(browser, handle) {
  const win = new Window(browser, handle);
  browser.windows.push(win);
  await win.load(`${browser.origin}/`);
  return win;
}

/** One top-level window of a browser; each call makes it the driver's current window first. */
export class Window {
  constructor(browser, handle) {
    this.browser = browser;
    this.handle = handle;
  }

  async focus() {
    if (this.browser.current !== this.handle) {
      await this.browser.session.switchTo(this.handle);
      this.browser.current = this.handle;
    }
    return this.browser.session;
  }

  /** Runs `fn(...args)` in this window (a returned Promise is awaited). */
  async run(fn, ...args) {
    return (await this.focus()).execute(fn, ...args);
  }

  /** Navigates to `url` and waits for the package to be ready. */
  async load(url) {
    await (await this.focus()).navigate(url);
    await this.ready();
  }

  /** Reloads and waits for the package to be ready. */
  async reload() {
    await (await this.focus()).refresh();
    await this.ready();
  }

  async ready() {
    const state = await this.run(async () => {
      await window.__waitFor(() => window.tkReady || window.tkFailed, 10_000);
      return { ready: window.tkReady === true, failed: window.tkFailed ?? null };
    });
    assert.ok(state.ready, `the package did not load: ${state.failed}`);
  }

  /** `new AuthClient({ baseUrl: origin, ...options })` as `window.client`; resolves with INITIAL_SESSION. */
  createClient(options = {}) {
    return this.run((options) => window.__createClient(options), { baseUrl: this.browser.origin, ...options });
  }

  /** `client.login(username, password)`: `{ ok, value: session }` or `{ ok: false, error }`. */
  login(username, password) {
    return this.run(
      (u, p) => window.__try(async () => window.__plain(await window.client.login(u, p))),
      username,
      password,
    );
  }

  /** A login that must succeed; resolves with the session. */
  async loginOk(username, password) {
    const result = await this.login(username, password);
    assert.ok(result.ok, `login(${username}) failed: ${JSON.stringify(result.error)}`);
    return result.value;
  }

  /** The events logged so far. */
  events() {
    return this.run(() => window.events);
  }

  async eventNames() {
    return (await this.events()).map((e) => e.event);
  }

  /** Waits (in the page) until `count`× `name` were logged; resolves with the events. */
  async waitForEvent(name, { count = 1, timeout = 10_000 } = {}) {
    const { ok, events } = await this.run(
      async (name, count, timeout) => ({
        ok: await window.__waitFor(() => window.events.filter((e) => e.event === name).length >= count, timeout),
        events: window.events,
      }),
      name,
      count,
      timeout,
    );
    assert.ok(ok, `no ${count}× ${name} within ${timeout} ms; events: ${events.map((e) => e.event)}`);
    return events;
  }

  /** `client.session()` as a plain object. */
  session() {
    return this.run(() => window.__plain(window.client.session()));
  }

  /** `client.fetch(path, init)`: `{ ok, value: { status, body } }` (body parsed when JSON). */
  clientFetch(path, init) {
    return this.run(
      (path, init) =>
        window.__try(async () => {
          const response = await window.client.fetch(path, init ?? undefined);
          const text = await response.text();
          let body = text;
          try {
            body = JSON.parse(text);
          } catch {}
          return { status: response.status, body };
        }),
      path,
      init ?? null,
    );
  }

  /** What the page passed to `fetch` so far (bodies included). */
  requests() {
    return this.run(() => window.__requests());
  }

  /** Every Web Storage value of this window's origin, as one string. */
  storageText() {
    return this.run(() =>
      JSON.stringify([
        ...Object.keys(localStorage).map((k) => localStorage.getItem(k)),
        ...Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
      ]),
    );
  }
}
