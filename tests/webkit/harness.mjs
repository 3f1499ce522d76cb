// Plumbing for the WebDriver end-to-end subset: the suites in this directory drive one browser
// engine over plain W3C WebDriver (./webdriver.mjs) against the companion server.
// - E2E_ENGINE=webkit (the default): Debian's WebKitGTK (MiniBrowser) through WebKitWebDriver
//   (WEBKIT_WEBDRIVER), under `xvfb-run -a`. Playwright cannot drive WebKitGTK (its WebKit is a
//   patched build that cannot be downloaded here), hence this small harness.
// - E2E_ENGINE=firefox: Debian's firefox-esr (FIREFOX_BINARY) through geckodriver (GECKODRIVER),
//   headless: no X display needed.
// The same test files run in either; the server helpers come from tests/e2e/.
//
// - One driver per test file (`startWebKit`), one WebDriver session per test (`openBrowser`): a
//   session is a fresh browser (a fresh profile) whose windows share storage and cookies, like
//   the tabs of one Playwright context.
// - Every window shows tests/webkit/static/index.html from the companion server, which loads the
//   package and the page helpers (see that file) on every load.
import assert from "node:assert/strict";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { homedir } from "node:os";
import { repoRoot } from "../e2e/harness.mjs";
import { startTestServer } from "../e2e/client-helpers.mjs";
import { Session, startDriver, webKitDriverArgs } from "./webdriver.mjs";

export const webkitDriver = process.env.WEBKIT_WEBDRIVER ?? "/usr/bin/WebKitWebDriver";

/** `name` on PATH, else `fallback` (as the Makefile finds geckodriver). */
function onPath(name, fallback) {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not in this directory.
    }
  }
  return fallback;
}

const cargoHome = process.env.CARGO_HOME ?? join(homedir(), ".cargo");

/**
 * Preferences for the test profile, on top of those geckodriver sets for automation. The
 * machine has no internet access and the suites time refreshes to the second, so Firefox's own
 * background connections (captive-portal and connectivity probes) are switched off: they could
 * only fail, and slowly.
 */
const firefoxPrefs = {
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "browser.shell.checkDefaultBrowser": false,
};

/**
 * The engines the suites run in. `label` prefixes test names; `driverOptions` go to
 * `startDriver`; `capabilities` to every new session; `sessionStartMs` bounds a browser launch.
 */
const engines = {
  webkit: {
    label: "webkit",
    name: "WebKit",
    driver: webkitDriver,
    driverOptions: { args: webKitDriverArgs, needsDisplay: true },
    capabilities: {},
    sessionStartMs: 30_000,
  },
  firefox: {
    label: "firefox",
    name: "Firefox",
    driver: process.env.GECKODRIVER ?? onPath("geckodriver", join(cargoHome, "bin", "geckodriver")),
    driverOptions: {
      // --log error: geckodriver and Marionette would otherwise log every command (kept in memory
      // by startDriver, shown only when the driver fails to start).
      args: (port) => ["--port", String(port), "--host", "127.0.0.1", "--log", "error"],
      // Headless Firefox draws nothing; MOZ_HEADLESS also covers a browser started without the
      // -headless argument.
      needsDisplay: false,
      env: { MOZ_HEADLESS: "1" },
    },
    capabilities: {
      browserName: "firefox",
      "moz:firefoxOptions": {
        binary: process.env.FIREFOX_BINARY ?? "/usr/bin/firefox-esr",
        args: ["-headless"],
        prefs: firefoxPrefs,
      },
    },
    // A new profile and a cold start take longer than MiniBrowser's ~1 s.
    sessionStartMs: 60_000,
  },
};

/** The engine chosen by E2E_ENGINE (default webkit): `{ label, name, driver, … }`. */
export const engine = engines[(process.env.E2E_ENGINE ?? "webkit").toLowerCase()];
if (!engine) {
  throw new Error(`E2E_ENGINE=${process.env.E2E_ENGINE}: expected one of ${Object.keys(engines).join(", ")}`);
}

/** The companion server in test mode, serving the WebKit test page; `args` as in tests/e2e/. */
export function startWebKitServer(args = []) {
  return startTestServer(["--static-dir", join(repoRoot, "tests", "webkit", "static"), ...args]);
}

/**
 * Awaits `starting` (the promises of `startWebKit()` and `startWebKitServer()`) together. If one
 * fails (a driver binary that is missing, a server that does not start), the others that did
 * start are stopped before the error is thrown: a file's `after` cannot stop what its `before`
 * never got back, and a server left running would keep `node --test` waiting forever.
 */
export async function startAll(starting) {
  const results = await Promise.allSettled(starting);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(results.map((r) => (r.status === "fulfilled" ? r.value.stop() : null)));
    throw failed.reason;
  }
  return results.map((r) => r.value);
}

/**
 * Starts the chosen engine's WebDriver server (WebKitWebDriver or geckodriver; the name is kept
 * from when it was WebKit's only); `stop()` it after the file. `restart()` replaces it with a
 * new one (see `openBrowser`).
 */
export async function startWebKit() {
  const start = () => startDriver(engine.driver, engine.driverOptions);
  let current = await start();
  return {
    get url() {
      return current.url;
    },
    stop: () => current.stop(),
    async restart() {
      await current.stop();
      current = await start();
    },
  };
}

/** Whether this file's first session has reported its browser and version yet. */
let browserReported = false;

/**
 * A new browser (WebDriver session) with one window on `origin`, closed after the test.
 * Resolves with that window; `browser.openWindow()` opens more on the same origin.
 *
 * Under load, WebKitWebDriver has been seen (about once in 45 launches) never to answer a new
 * session request; a test would then wait forever. So a launch that takes longer than the
 * engine's `sessionStartMs` is given up, the driver restarted, and the launch tried once more
 * (and reported as a diagnostic).
 */
export async function openBrowser(t, driver, origin) {
  let session;
  for (let attempt = 1; !session; attempt++) {
    try {
      session = await Session.create(driver.url, engine.capabilities, { timeoutMs: engine.sessionStartMs });
    } catch (error) {
      if (attempt === 2) throw error;
      t.diagnostic(`${engine.name} did not start within ${engine.sessionStartMs} ms (${error.message}); restarting its driver`);
      await driver.restart();
    }
  }
  t.after(() => session.close().catch(() => {}));
  if (!browserReported) {
    // Once per file: which browser the run really drove.
    browserReported = true;
    const { browserName, browserVersion } = session.capabilities ?? {};
    t.diagnostic(`${engine.name}: ${browserName} ${browserVersion} via ${engine.driver}`);
  }
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
