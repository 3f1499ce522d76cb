// The Vite example app (www/examples/vite/), built and run the way its users do: its own
// package.json and lock file, `tokenkeeper` as a `file:` dependency on pkg/, and Vite from its own
// node_modules (`make examples` runs `npm ci` there after `make build`).
//
// 1. `vite build`: the bundle (with the .wasm emitted as an asset) is served by the companion
//    server, which is told to serve no /pkg/ at all, so the bundle must be self-contained; in
//    Chromium the app signs in, calls /auth/me through client.fetch, refreshes and logs out.
// 2. `vite` (the dev server): its config proxies the API to the companion server and lets the
//    dev server read the linked package; the same sign-in works there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { launchChromium, openPage, repoRoot, startServer } from "./harness.mjs";
import { closedPort } from "./client-helpers.mjs";

const example = join(repoRoot, "www", "examples", "vite");
const viteBin = join(example, "node_modules", "vite", "bin", "vite.js");
const pkgManifest = JSON.parse(await readFile(join(repoRoot, "pkg", "package.json"), "utf8"));

/** The example's own install: Vite 8.3.8 and a link to this checkout's pkg/. */
async function assertInstalled() {
  const linked = join(example, "node_modules", "tokenkeeper");
  assert.ok(
    existsSync(join(linked, "package.json")) && existsSync(viteBin),
    "www/examples/vite is not installed: run `make examples` (npm ci after make build)",
  );
  assert.equal(await realpath(linked), await realpath(join(repoRoot, "pkg")), "tokenkeeper links to pkg/");
  const vite = JSON.parse(await readFile(join(example, "node_modules", "vite", "package.json"), "utf8"));
  assert.equal(vite.version, "8.3.8");
}

/** Signs in through the app's form, checks the signed-in view, /auth/me, and logs out. */
async function signInAndOut(page, { waitForRefresh = false } = {}) {
  await page.waitForSelector('body[data-ready="true"]', { state: "attached" });
  assert.equal(await page.textContent("#version"), pkgManifest.version);
  await page.waitForSelector("#login", { state: "visible" });

  // A wrong password: the app shows the AuthError's code (it checks `instanceof AuthError`).
  await page.fill('#login [name="username"]', "admin");
  await page.fill('#login [name="password"]', "wrong-password");
  await page.click("#login button");
  await page.waitForSelector("#error", { state: "visible" });
  assert.match(await page.textContent("#error"), /^invalid_credentials: /);

  await page.fill('#login [name="password"]', "admin-password");
  await page.click("#login button");
  await page.waitForSelector("#session", { state: "visible" });
  assert.equal(await page.textContent("#who"), "admin@example.com");
  assert.ok(await page.isVisible("#admin"), "hasRole('admin') shows the badge");
  const claims = JSON.parse(await page.textContent("#claims"));
  assert.equal(claims.role, "admin");
  assert.equal(claims.type, "access");

  await page.click("#me");
  await page.waitForSelector("#me-output", { state: "visible" });
  const meText = await page.textContent("#me-output");
  assert.match(meText, /^200 /);
  assert.equal(JSON.parse(meText.slice(4)).email, "admin@example.com");

  const stored = await page.evaluate(() => ({
    session: sessionStorage.getItem("tokenkeeper-vite-example"),
    local: localStorage.getItem("tokenkeeper-vite-example"),
  }));
  assert.match(stored.session ?? "", /^\{"v":1/, "the app keeps its session in sessionStorage");
  assert.equal(stored.local, null);

  if (waitForRefresh) {
    await page.waitForFunction(
      () => [...document.querySelectorAll("#events li")].some((li) => li.textContent.startsWith("TOKEN_REFRESHED")),
      null,
      { timeout: 10_000, polling: 50 },
    );
  }

  await page.click("#logout");
  await page.waitForSelector("#login", { state: "visible" });
  const events = await page.$$eval("#events li", (items) => items.map((li) => li.textContent.split(" ")[0]));
  assert.equal(events[0], "INITIAL_SESSION");
  assert.equal(events[1], "SIGNED_IN");
  assert.equal(events.at(-1), "SIGNED_OUT");
  if (waitForRefresh) assert.ok(events.includes("TOKEN_REFRESHED"), JSON.stringify(events));
  // The wrong password's 401 is the only failed request.
  assert.deepEqual(
    page.problems.filter((p) => p !== "http 401: POST /auth/login"),
    [],
  );
}

test("the Vite example builds with Vite and runs in Chromium from the companion server", async (t) => {
  await assertInstalled();
  const out = await mkdtemp(join(tmpdir(), "tokenkeeper-vite-dist-"));
  t.after(() => rm(out, { recursive: true, force: true }));
  await promisify(execFile)(
    process.execPath,
    [viteBin, "build", "--outDir", out, "--emptyOutDir", "--logLevel", "warn"],
    { cwd: example },
  );

  // Vite emitted the package's .wasm, byte for byte, as a hashed asset.
  const assets = await readdir(join(out, "assets"));
  const wasm = assets.filter((name) => name.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `one .wasm asset: ${assets}`);
  assert.ok(
    (await readFile(join(out, "assets", wasm[0]))).equals(
      await readFile(join(repoRoot, "pkg", "tokenkeeper_bg.wasm")),
    ),
  );

  // No /pkg/ on this server: only the bundle can have loaded the package.
  const server = await startServer([
    "--static-dir", out,
    "--pkg-dir", join(out, "no-pkg-here"),
    "--access-ttl", "4",
  ]);
  t.after(() => server.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const context = await browser.newContext();
  const wasmRequests = [];
  context.on("request", (request) => {
    if (request.url().endsWith(".wasm")) wasmRequests.push(new URL(request.url()).pathname);
  });
  const page = await openPage(context, `${server.url}/`);
  await signInAndOut(page, { waitForRefresh: true });
  assert.deepEqual(wasmRequests, [`/assets/${wasm[0]}`]);
});

test("the Vite example's dev server proxies the API to the companion server", async (t) => {
  await assertInstalled();
  const server = await startServer();
  t.after(() => server.stop());
  const port = await closedPort();
  const dev = spawn(process.execPath, [viteBin, "--port", String(port), "--strictPort"], {
    cwd: example,
    env: { ...process.env, TOKENKEEPER_URL: server.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = [];
  dev.stdout.on("data", (chunk) => output.push(String(chunk)));
  dev.stderr.on("data", (chunk) => output.push(String(chunk)));
  const exited = once(dev, "exit");
  t.after(async () => {
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGTERM");
    await exited;
  });
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.equal(dev.exitCode, null, `vite exited:\n${output.join("")}`);
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) break;
    assert.ok(Date.now() < deadline, `vite dev server did not answer within 30 s:\n${output.join("")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await openPage(await browser.newContext(), url);
  await signInAndOut(page);
});
