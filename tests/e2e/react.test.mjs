// tokenkeeper/react (src/react/, shipped as pkg/react/) and the React example app
// (www/examples/react/: Vite + React 19, StrictMode on), installed the way its users install it:
// its own lock file, `tokenkeeper` as a `file:` dependency on pkg/ (`make examples` runs `npm ci`).
//
// 1. The app is built with Vite twice: for production, and with NODE_ENV=development, where React
//    runs StrictMode's double mount (a production build skips it). The companion server serves
//    each build (no /pkg/: the bundle must be self-contained) and the API on the same origin.
// 2. In Chromium: sign-in errors, sign-in, profile from me(), the admin-only section, refresh
//    under 4-second tokens (re-rendering only the components that read the session), two tabs,
//    logout; the `#leak` page mounts the provider 20 times and counts listeners and clients.
// 3. In Node: server rendering with `react-dom/server`, and the package's files and types.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { launchChromium, openPage, repoRoot, startServer } from "./harness.mjs";
import { USERS } from "./client-helpers.mjs";

const run = promisify(execFile);
const example = join(repoRoot, "www", "examples", "react");
const viteBin = join(example, "node_modules", "vite", "bin", "vite.js");

/** The example's own install: React 19, Vite, and a link to this checkout's pkg/. */
async function assertInstalled() {
  const linked = join(example, "node_modules", "tokenkeeper");
  assert.ok(
    existsSync(join(linked, "package.json")) && existsSync(viteBin),
    "www/examples/react is not installed: run `make examples` (npm ci after make build)",
  );
  assert.equal(await realpath(linked), await realpath(join(repoRoot, "pkg")), "tokenkeeper links to pkg/");
  const react = JSON.parse(await readFile(join(example, "node_modules", "react", "package.json"), "utf8"));
  assert.match(react.version, /^19\./);
}

/** `vite build` into a temporary folder; `development` keeps React's StrictMode checks. */
async function buildApp(t, { development }) {
  const out = await mkdtemp(join(tmpdir(), "tokenkeeper-react-dist-"));
  t.after(() => rm(out, { recursive: true, force: true }));
  await run(process.execPath, [viteBin, "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: example,
    env: { ...process.env, NODE_ENV: development ? "development" : "production" },
  });
  return out;
}

/** The companion server serving a build of the app, with `args` (e.g. the token lifetime). */
async function serveApp(t, out, args = []) {
  const server = await startServer(["--static-dir", out, "--pkg-dir", join(out, "no-pkg-here"), ...args]);
  t.after(() => server.stop());
  return server;
}

async function signIn(page, user = USERS.admin) {
  await page.fill('#login [name="username"]', user.username);
  await page.fill('#login [name="password"]', user.password);
  await page.click("#login button");
  await page.waitForSelector("#profile", { state: "visible" });
}

const probe = (page) => page.evaluate(() => ({ ...window.__probe }));
const commits = (page) => page.evaluate(() => ({ ...window.__commits }));

test("the React example (production build): sign in, profile, admin section, logout", async (t) => {
  await assertInstalled();
  const out = await buildApp(t, { development: false });
  const server = await serveApp(t, out);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await openPage(await browser.newContext(), `${server.url}/`);

  await page.waitForSelector("#login", { state: "visible" });
  assert.equal(await page.textContent("#status"), "Signed out");
  await page.fill('#login [name="password"]', "wrong-password");
  await page.click("#login button");
  await page.waitForSelector("#error", { state: "visible" });
  assert.match(await page.textContent("#error"), /^invalid_credentials: /, "useAuth().error");

  await signIn(page);
  assert.equal(await page.textContent("#who"), USERS.admin.email);
  assert.equal(await page.isVisible("#error"), false, "a new login() clears the error");
  await page.waitForFunction(() => document.querySelector("#me-output").textContent.includes("@"));
  assert.equal(JSON.parse(await page.textContent("#me-output")).email, USERS.admin.email);
  await page.waitForSelector("#admin-users li");
  assert.ok((await page.$$eval("#admin-users li", (li) => li.map((l) => l.textContent))).includes(USERS.user.email));

  await page.click("#logout");
  await page.waitForSelector("#login", { state: "visible" });

  // A non-admin sees the fallback, not the section (and the server would refuse it anyway).
  await signIn(page, USERS.user);
  await page.waitForSelector("#not-admin", { state: "visible" });
  assert.equal(await page.$("#admin"), null);
  await page.click("#logout");
  await page.waitForSelector("#login", { state: "visible" });
  assert.deepEqual(
    page.problems.filter((p) => p !== "http 401: POST /auth/login"),
    [],
  );
});

test("the React example in StrictMode: one client, refresh re-renders only session readers, two tabs", async (t) => {
  await assertInstalled();
  const out = await buildApp(t, { development: true });
  const server = await serveApp(t, out, ["--access-ttl", "4"]);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext();
  const page = await openPage(context, `${server.url}/?probe`);

  await page.waitForSelector("#login", { state: "visible" });
  // StrictMode mounted, unmounted and mounted the provider: the first attempt created nothing.
  assert.deepEqual(await probe(page), { clients: 1, live: 1, subscribes: 1, disposed: 0 });
  const mounts = (await commits(page)).status;
  assert.ok(mounts >= 2, `StrictMode ran effects twice (status committed ${mounts} times)`);

  await signIn(page);
  await page.waitForSelector("#admin-users li");
  const before = await commits(page);
  const expiresBefore = Number(await page.getAttribute("#token", "data-expires-at"));
  await page.waitForFunction(() => document.querySelector("#event")?.textContent === "TOKEN_REFRESHED", null, {
    timeout: 10_000,
    polling: 50,
  });
  const after = await commits(page);
  assert.ok(Number(await page.getAttribute("#token", "data-expires-at")) > expiresBefore, "a new token");
  assert.ok(after.token > before.token, `the session reader re-rendered: ${JSON.stringify({ before, after })}`);
  assert.equal(after.status, before.status, `the isAuthenticated reader did not: ${JSON.stringify({ before, after })}`);
  assert.equal(await page.textContent("#status"), "Signed in");

  // A second tab of the same app: the same session (local storage), one client there too.
  const other = await openPage(context, `${server.url}/?probe`);
  await other.waitForSelector("#profile", { state: "visible" });
  assert.equal(await other.textContent("#who"), USERS.admin.email);
  assert.equal((await probe(other)).clients, 1);
  await other.click("#logout");
  await page.waitForSelector("#login", { state: "visible" });
  await other.waitForSelector("#login", { state: "visible" });
  assert.deepEqual(await probe(page), { clients: 1, live: 1, subscribes: 1, disposed: 0 });
  assert.deepEqual([...page.problems, ...other.problems], []);
});

test("mounting the provider 20 times leaks no listener, client or lock (StrictMode)", async (t) => {
  await assertInstalled();
  const out = await buildApp(t, { development: true });
  const server = await serveApp(t, out);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await openPage(await browser.newContext(), `${server.url}/#leak`);
  await page.waitForSelector("#mount-options");
  const baseline = await probe(page);
  assert.deepEqual(baseline, { clients: 0, live: 0, subscribes: 0, disposed: 0 });

  async function cycle(button) {
    await page.click(button);
    await page.waitForSelector('#child[data-loading="false"]');
    await page.click("#unmount");
    await page.waitForSelector("#child", { state: "detached" });
  }

  // `options`: each mount owns one client (not two: StrictMode's first mount created none), and
  // disposes it on unmount.
  for (let i = 0; i < 20; i += 1) await cycle("#mount-options");
  assert.deepEqual(await probe(page), { clients: 20, live: 0, subscribes: 20, disposed: 20 });

  // `client`: the page's client outlives the providers; each mount subscribes twice under
  // StrictMode (mount, unmount, mount) and every subscription ends.
  for (let i = 0; i < 20; i += 1) await cycle("#mount-client");
  assert.deepEqual(await probe(page), { clients: 21, live: 0, subscribes: 60, disposed: 20 });

  // getAccessToken() from every child's mount effect (two per mount under StrictMode), made
  // before or after the provider had its client, settled.
  await page.waitForFunction(() => window.__calls.settled === window.__calls.made, null, { timeout: 5_000 }).catch(() => {});
  assert.deepEqual(await page.evaluate(() => window.__calls), { made: 80, settled: 80 });

  const locks = await page.evaluate(() => navigator.locks.query());
  assert.deepEqual([...locks.held, ...locks.pending], [], "no Web Lock left behind");
  assert.deepEqual(page.problems, []);
});

/**
 * Runs ES module `source` with Node in the example's folder. `--preserve-symlinks` only because
 * the example links pkg/ (a `file:` dependency): `tokenkeeper/react` must find this app's React,
 * as it does when installed from npm.
 */
async function runInExample(source) {
  const { stdout } = await run(
    process.execPath,
    ["--preserve-symlinks", "--input-type=module", "--eval", source],
    { cwd: example, timeout: 20_000 },
  );
  return JSON.parse(stdout);
}

test("server rendering: <AuthProvider options> renders the loading state in Node, creates nothing", async () => {
  await assertInstalled();
  const result = await runInExample(`
    import { createElement as h } from "react";
    import { renderToString } from "react-dom/server";
    import { AuthProvider, RequireRole, useAuth, useSession } from "tokenkeeper/react";

    function Status() {
      const auth = useAuth();
      const session = useSession();
      const line = auth.isLoading ? "loading" : auth.isAuthenticated ? "signed in" : "signed out";
      return h("p", { id: "status", "data-client": String(auth.client), "data-session": String(session),
        "data-admin": String(auth.hasRole("admin")) }, line);
    }
    const tree = h(AuthProvider, { options: { baseUrl: "http://127.0.0.1:9" } },
      h(Status),
      h(RequireRole, { role: "admin", loading: h("i", null, "checking"), fallback: "no" }, "secret"));
    console.log(JSON.stringify({ html: renderToString(tree), window: typeof window }));
  `);
  assert.equal(result.window, "undefined");
  assert.equal(
    result.html,
    '<p id="status" data-client="null" data-session="null" data-admin="false">loading</p><i>checking</i>',
  );
});

test("the package ships tokenkeeper/react with its types; React stays an optional peer", async () => {
  const pkg = join(repoRoot, "pkg");
  const manifest = JSON.parse(await readFile(join(pkg, "package.json"), "utf8"));
  assert.deepEqual(manifest.exports["./react"], { types: "./react/index.d.ts", default: "./react/index.js" });
  assert.deepEqual(manifest.peerDependenciesMeta, { react: { optional: true } });
  assert.ok(manifest.peerDependencies.react);
  assert.equal(manifest.dependencies, undefined);
  assert.ok(manifest.files.includes("react/"));
  for (const file of ["index.js", "index.d.ts"]) {
    assert.equal(
      await readFile(join(pkg, "react", file), "utf8"),
      await readFile(join(repoRoot, "src", "react", file), "utf8"),
      `pkg/react/${file} is src/react/${file}`,
    );
  }
  assert.deepEqual((await readdir(join(pkg, "react"))).sort(), ["index.d.ts", "index.js"]);

  // Every export has a declaration and every declared function exists (a type check proper needs
  // TypeScript, which the workspace does not install).
  const { exports } = await runInExample(`
    const m = await import("tokenkeeper/react");
    console.log(JSON.stringify({ exports: Object.keys(m).sort() }));
  `);
  const types = await readFile(join(pkg, "react", "index.d.ts"), "utf8");
  const declared = [...types.matchAll(/^export function (\w+)/gm)].map((m) => m[1]).sort();
  assert.deepEqual(exports, declared);
  assert.deepEqual(exports, ["AuthProvider", "RequireRole", "useAuth", "useAuthActions", "useAuthState", "useSession"]);
});
