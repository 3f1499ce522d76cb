// The demo page (`make demo`), driven like a user would: sign in, watch a refresh happen on its
// own, use the admin panel, call /auth/me, log out; two tabs staying in step; the storage switch.
// The first test takes the README's screenshot: always into tests/e2e/artifacts/demo.png
// (gitignored), and into docs/demo.png when UPDATE_SCREENSHOT=1 (`make screenshot`), so that
// an ordinary test run leaves the committed image alone.
//
// The demo is started through scripts/demo.sh, as `make demo` does, with 6-second access tokens
// (DEMO_ACCESS_TTL) so a refresh comes 3 s after sign-in, and an in-memory database.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { launchChromium, openPage, repoRoot, spawnListening } from "./harness.mjs";

const ACCESS_TTL = 6;
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === "1"
  ? join(repoRoot, "docs", "demo.png")
  : join(repoRoot, "tests", "e2e", "artifacts", "demo.png");
const tid = (id) => `[data-testid="${id}"]`;

async function startDemo(t) {
  const demo = await spawnListening(
    join(repoRoot, "scripts", "demo.sh"),
    ["--db", ":memory:", "--test-mode"],
    { env: { DEMO_ADDR: "127.0.0.1:0", DEMO_ACCESS_TTL: String(ACCESS_TTL) } },
  );
  t.after(() => demo.stop());
  return demo;
}

async function newContext(t, browser) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    colorScheme: "light",
  });
  t.after(() => context.close());
  return context;
}

/**
 * Opens the demo and waits until the package is loaded and the client has reported its
 * INITIAL_SESSION. Records every token the server hands out (`page.tokens`), so tests can check
 * that none of them ever shows on the page, and the requests the page makes (`page.requests`).
 */
async function openDemo(context, url) {
  const page = await openPage(context, url);
  page.tokens = [];
  page.requests = [];
  page.on("response", async (response) => {
    const { pathname } = new URL(response.url());
    if (!["/auth/login", "/auth/refresh"].includes(pathname) || response.status() !== 200) return;
    const body = await response.json().catch(() => ({}));
    for (const token of [body.access_token, body.refresh_token]) if (token) page.tokens.push(token);
  });
  page.on("request", (request) => {
    const entry = { method: request.method(), path: new URL(request.url()).pathname };
    page.requests.push(entry);
    request
      .allHeaders()
      .then((headers) => (entry.authorization = headers.authorization ?? null))
      .catch(() => {});
  });
  await page.waitForSelector("body[data-ready]", { state: "attached" });
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("body"));
  await waitForLogged(page, "INITIAL_SESSION");
  return page;
}

/** The events in the page's event log, oldest first. */
const logged = (page) =>
  page.$$eval(`${tid("event-log")} li[data-kind="event"]`, (items) =>
    items.map((item) => item.dataset.event).reverse(),
  );

/** The log entries (events and calls) as text, oldest first. */
const logText = (page) =>
  page.$$eval(`${tid("event-log")} li`, (items) => items.map((item) => item.textContent).reverse());

async function waitForLogged(page, event, { count = 1, timeout = 10_000 } = {}) {
  try {
    await page.waitForFunction(
      ([selector, event, count]) =>
        document.querySelectorAll(`${selector} li[data-event="${event}"]`).length >= count,
      [tid("event-log"), event, count],
      { timeout, polling: 50 },
    );
  } catch (error) {
    throw new Error(`no ${count}× ${event} in the event log within ${timeout} ms: ${await logged(page)}`, {
      cause: error,
    });
  }
}

const countLogged = async (page, event) => (await logged(page)).filter((e) => e === event).length;

async function signIn(page, username, password) {
  await page.fill(tid("username"), username);
  await page.fill(tid("password"), password);
  await page.click(tid("login"));
}

/** The countdown in seconds, or null when it shows "—". */
async function seconds(page, id) {
  const text = (await page.textContent(tid(id))).trim();
  if (text === "now") return 0;
  const match = /^([\d.]+) s$/.exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * No token the server issued shows anywhere in the page: no 16 consecutive characters of its
 * payload or signature (the JOSE header, the same for every token, may show as `eyJhbGci…`).
 */
async function assertNoTokenShown(page) {
  assert.ok(page.tokens.length > 0, "the recorder saw the tokens the server issued");
  const html = await page.content();
  const text = await page.evaluate(() => document.body.innerText);
  for (const token of page.tokens) {
    const secretPart = token.slice(token.indexOf(".") + 1);
    for (let i = 0; i + 16 <= secretPart.length; i++) {
      const piece = secretPart.slice(i, i + 16);
      assert.ok(!html.includes(piece) && !text.includes(piece), `part of a token is in the page: ${piece}`);
    }
  }
}

test("demo: sign in, automatic refresh, admin panel, /auth/me, log out; takes the screenshot", async (t) => {
  const demo = await startDemo(t);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await openDemo(await newContext(t, browser), `${demo.url}/`);

  // Signed out: the form and the seed users; no admin panel.
  assert.ok(await page.isVisible(tid("signin-card")));
  assert.ok(await page.isHidden(tid("session-card")));
  assert.ok(await page.isHidden(tid("admin-panel")));
  const seedUsers = await page.$$eval(`${tid("seed-users")} tbody tr`, (rows) =>
    rows.map((row) => row.dataset.username),
  );
  assert.deepEqual(seedUsers, ["admin", "user", "inactive"]);
  assert.match((await logText(page))[0], /INITIAL_SESSION.*no session in local storage/);

  // A wrong password shows the AuthError code and leaves the page signed out.
  await signIn(page, "admin", "not-the-password");
  await page.waitForSelector(tid("login-error"), { state: "visible" });
  assert.equal(await page.getAttribute(tid("login-error"), "data-code"), "invalid_credentials");
  assert.match(await page.textContent(tid("login-error")), /^invalid_credentials \(HTTP 401\)/);
  assert.ok(await page.isHidden(tid("session-card")));

  // The disabled seed user: account_disabled.
  await page.click('tr[data-username="inactive"]');
  await page.click(tid("login"));
  await page.waitForFunction(
    (s) => document.querySelector(s).dataset.code === "account_disabled",
    tid("login-error"),
  );
  assert.match(await page.textContent(tid("login-error")), /^account_disabled \(HTTP 403\)/);

  // A seed-user row fills the form; signing in shows the session.
  await page.fill(tid("password"), "");
  await page.click('tr[data-username="admin"]');
  assert.equal(await page.inputValue(tid("password")), "admin-password");
  await page.click(tid("login"));
  await page.waitForSelector(tid("session-card"), { state: "visible" });
  await waitForLogged(page, "SIGNED_IN");
  assert.ok(await page.isHidden(tid("signin-card")));
  assert.ok(await page.isHidden(tid("login-error")));
  assert.equal(await page.textContent(tid("who")), "admin@example.com");
  assert.equal(await page.textContent(tid("role")), "admin");
  assert.equal(await page.textContent(tid("token-preview")), "eyJhbGci…");
  assert.match((await logText(page)).at(-1), /SIGNED_IN.*admin@example\.com \(admin\), valid until/);

  // The decoded claims.
  const claims = await page.$$eval(`${tid("session-claims")} tr`, (rows) =>
    Object.fromEntries(
      rows.map((row) => [row.querySelector("th").textContent, row.querySelector("code").textContent]),
    ),
  );
  assert.equal(claims.email, '"admin@example.com"');
  assert.equal(claims.role, '"admin"');
  assert.equal(claims.type, '"access"');
  assert.equal(Number(claims.exp) - Number(claims.iat), ACCESS_TTL);

  // Live countdowns: to exp (at most the lifetime) and to the refresh (half of it, the cap).
  const expiresIn = await seconds(page, "expires-in");
  const refreshIn = await seconds(page, "refresh-in");
  assert.ok(expiresIn > 0 && expiresIn <= ACCESS_TTL, `expires in ${expiresIn} s`);
  assert.ok(refreshIn >= 0 && refreshIn <= ACCESS_TTL / 2 + 0.5, `refresh in ${refreshIn} s`);
  assert.ok(refreshIn < expiresIn, `the refresh (${refreshIn} s) comes before exp (${expiresIn} s)`);
  await page.waitForTimeout(700);
  const later = await seconds(page, "expires-in");
  assert.ok(later < expiresIn, `the countdown moves: ${expiresIn} s, then ${later} s`);

  // The admin panel is there for an admin.
  assert.ok(await page.isVisible(tid("admin-panel")));

  // The token refreshes on its own; the log and the counter show it.
  await waitForLogged(page, "TOKEN_REFRESHED", { timeout: (ACCESS_TTL + 5) * 1000 });
  await page.waitForFunction((s) => Number(document.querySelector(s).textContent) >= 1, tid("refresh-count"));
  const refreshes = page.requests.filter((r) => r.method === "POST" && r.path === "/auth/refresh");
  assert.ok(refreshes.length >= 1, "the page sent the refresh");
  assert.ok(await page.isVisible(tid("session-card")), "still signed in after the refresh");

  // Admin panel: GET /admin/users through client.fetch.
  await page.click(tid("load-users"));
  await page.waitForSelector(tid("admin-users"), { state: "visible" });
  const emails = await page.$$eval(`${tid("admin-users")} tbody tr`, (rows) =>
    rows.map((row) => row.cells[1].textContent),
  );
  assert.deepEqual(emails.sort(), ["admin@example.com", "inactive@example.com", "user@example.com"]);

  // GET /auth/me through client.fetch: the bearer token was added.
  await page.click(tid("call-me"));
  await page.waitForSelector(tid("me-output"), { state: "visible" });
  assert.equal(await page.getAttribute(tid("me-output"), "data-status"), "200");
  assert.match(await page.textContent(tid("me-output")), /"email": "admin@example\.com"/);
  const meRequest = page.requests.findLast((r) => r.path === "/auth/me");
  await page.waitForTimeout(50); // the header recorder settles
  assert.match(meRequest.authorization ?? "", /^Bearer ey/);
  assert.match((await logText(page)).at(-1), /GET \/auth\/me\s*200 in \d+ ms/);

  // The README's screenshot: signed in as admin, events in the log.
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await assertNoTokenShown(page);

  // Log out: the server's logout is called, the page is signed out.
  await page.click(tid("logout"));
  await page.waitForSelector(tid("signin-card"), { state: "visible" });
  await waitForLogged(page, "SIGNED_OUT");
  assert.ok(await page.isHidden(tid("session-card")));
  assert.ok(await page.isHidden(tid("admin-panel")));
  assert.ok(page.requests.some((r) => r.method === "POST" && r.path === "/auth/logout"));
  assert.equal(await page.evaluate(() => localStorage.getItem("tokenkeeper-demo")), null);

  // A plain user: signed in, no admin panel.
  await signIn(page, "user", "user-password");
  await page.waitForSelector(tid("session-card"), { state: "visible" });
  assert.equal(await page.textContent(tid("who")), "user@example.com");
  assert.equal(await page.textContent(tid("role")), "user");
  assert.ok(await page.isHidden(tid("admin-panel")));
  await page.click(tid("logout"));
  await page.waitForSelector(tid("signin-card"), { state: "visible" });

  await assertNoTokenShown(page);
  // The wrong password's 401 and the disabled account's 403 were the only failed requests.
  assert.deepEqual(
    page.problems.filter((p) => !["http 401: POST /auth/login", "http 403: POST /auth/login"].includes(p)),
    [],
  );
});

test("demo: two tabs with local storage stay in step", async (t) => {
  const demo = await startDemo(t);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await newContext(t, browser);
  const first = await openDemo(context, `${demo.url}/`);
  const second = await openDemo(context, `${demo.url}/`);
  assert.match(await second.textContent(tid("tabs-hint-text")), /every tab of this origin shares one session/);
  assert.equal(await first.getAttribute(tid("second-tab"), "target"), "_blank");

  // Signing in in the first tab signs in the second.
  await signIn(first, "admin", "admin-password");
  await waitForLogged(second, "SIGNED_IN");
  await second.waitForSelector(tid("session-card"), { state: "visible" });
  assert.equal(await second.textContent(tid("who")), "admin@example.com");
  assert.ok(await second.isVisible(tid("admin-panel")));

  // Both follow the refreshes, and each expiry costs one refresh request across the two tabs.
  await waitForLogged(first, "TOKEN_REFRESHED", { count: 2, timeout: (2 * ACCESS_TTL + 5) * 1000 });
  await waitForLogged(second, "TOKEN_REFRESHED", { count: 2, timeout: 5000 });
  const seen = await countLogged(first, "TOKEN_REFRESHED");
  const sent = [...first.requests, ...second.requests].filter((r) => r.path === "/auth/refresh").length;
  assert.ok(sent >= 2 && sent <= seen + 1, `${sent} refresh requests for ${seen} refreshes`);
  const expires = [await seconds(first, "expires-in"), await seconds(second, "expires-in")];
  assert.ok(Math.abs(expires[0] - expires[1]) < 1, `both tabs show the same expiry: ${expires}`);

  // Logging out in the second tab signs out the first.
  await second.click(tid("logout"));
  await waitForLogged(first, "SIGNED_OUT");
  await first.waitForSelector(tid("signin-card"), { state: "visible" });
  assert.ok(await first.isHidden(tid("admin-panel")));
  const logouts = [...first.requests, ...second.requests].filter((r) => r.path === "/auth/logout");
  assert.equal(logouts.length, 1, "only the tab that logged out called the server");

  await assertNoTokenShown(first);
  assert.deepEqual(first.problems, []);
  assert.deepEqual(second.problems, []);
});

test("demo: the storage switch recreates the client; session and memory are per tab", async (t) => {
  const demo = await startDemo(t);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await newContext(t, browser);
  const page = await openDemo(context, `${demo.url}/`);
  const stored = () =>
    page.evaluate(() => ({
      local: localStorage.getItem("tokenkeeper-demo"),
      session: sessionStorage.getItem("tokenkeeper-demo"),
    }));

  // Memory: signed in until the page reloads; nothing is written to Web Storage.
  await page.check('input[name="storage"][value="memory"]');
  await page.waitForSelector('body[data-storage="memory"]', { state: "attached" });
  await waitForLogged(page, "INITIAL_SESSION", { count: 2 });
  assert.match(await page.textContent(tid("tabs-hint-text")), /^Memory storage/);
  assert.equal(await page.getAttribute(tid("second-tab"), "href"), "/?storage=memory");
  await signIn(page, "user", "user-password");
  await page.waitForSelector(tid("session-card"), { state: "visible" });
  assert.equal(await page.textContent(tid("storage-mode")), "memory");
  assert.deepEqual(await stored(), { local: null, session: null });
  await page.reload();
  await page.waitForSelector("body[data-ready]", { state: "attached" });
  await waitForLogged(page, "INITIAL_SESSION");
  assert.equal(await page.getAttribute("body", "data-storage"), "memory", "the choice survives a reload");
  assert.ok(await page.isVisible(tid("signin-card")), "memory storage is gone after a reload");

  // Session: survives a reload of this tab, but a new tab starts signed out.
  await page.check('input[name="storage"][value="session"]');
  await page.waitForSelector('body[data-storage="session"]', { state: "attached" });
  await signIn(page, "user", "user-password");
  await page.waitForSelector(tid("session-card"), { state: "visible" });
  const afterLogin = await stored();
  assert.equal(afterLogin.local, null);
  assert.match(afterLogin.session ?? "", /^\{"v":1/);
  await page.reload();
  await page.waitForSelector("body[data-ready]", { state: "attached" });
  await waitForLogged(page, "INITIAL_SESSION");
  assert.match((await logText(page)).at(-1), /restored user@example\.com's session from session storage/);
  assert.ok(await page.isVisible(tid("session-card")));
  const other = await openDemo(context, `${demo.url}/?storage=session`);
  assert.ok(await other.isVisible(tid("signin-card")), "a new tab has its own session storage");

  // Back to local: that storage has no session, so this tab shows the form; the session-storage
  // session is still there for when the switch comes back.
  await page.check('input[name="storage"][value="local"]');
  await page.waitForSelector(tid("signin-card"), { state: "visible" });
  assert.match((await logText(page)).at(-1), /INITIAL_SESSION.*no session in local storage/);
  assert.match((await stored()).session ?? "", /^\{"v":1/);
  await page.check('input[name="storage"][value="session"]');
  await page.waitForSelector(tid("session-card"), { state: "visible" });

  await assertNoTokenShown(page);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(other.problems, []);
});
