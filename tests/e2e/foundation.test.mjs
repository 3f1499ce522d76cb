// Foundation: the demo script serves a page that loads the package in Chromium, and the same
// package imports by name in Node through its conditional exports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { launchChromium, openPage, repoRoot, spawnListening } from "./harness.mjs";

const pkgManifest = JSON.parse(await readFile(join(repoRoot, "pkg", "package.json"), "utf8"));

test("the demo script serves a page that loads the package in Chromium", async (t) => {
  const demo = await spawnListening(join(repoRoot, "scripts", "demo.sh"), [], {
    env: { DEMO_ADDR: "127.0.0.1:0" },
  });
  t.after(() => demo.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());

  const page = await openPage(await browser.newContext(), `${demo.url}/`);
  await page.waitForSelector("body[data-ready]", { state: "attached" });
  assert.equal(await page.getAttribute("body", "data-ready"), "true", await page.textContent("body"));
  assert.equal(await page.textContent('[data-testid="version"]'), pkgManifest.version);

  const claims = JSON.parse(await page.textContent('[data-testid="decoded"]'));
  assert.equal(claims.sub, "42");
  assert.equal(claims.name, "Zoë Example");
  assert.equal(claims.exp, 4102444800);
  assert.deepEqual(page.problems, []);

  // Ctrl-C stops the demo cleanly.
  assert.equal(await demo.stop("SIGINT"), 0, demo.output.join("\n"));
});

test("Node >= 20 imports the package by name (ESM, conditional exports)", async (t) => {
  const app = await mkdtemp(join(tmpdir(), "tokenkeeper-node-"));
  t.after(() => rm(app, { recursive: true, force: true }));
  await mkdir(join(app, "node_modules"));
  await symlink(join(repoRoot, "pkg"), join(app, "node_modules", "tokenkeeper"), "dir");
  await writeFile(join(app, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(
    join(app, "main.mjs"),
    `import init, { AuthError, version, decodeClaims } from "tokenkeeper";
await init();
const token = process.argv[2];
let error;
try { decodeClaims("not.a-token"); } catch (e) {
  error = { isAuthError: e instanceof AuthError, isError: e instanceof Error, name: e.name, code: e.code, message: e.message };
}
console.log(JSON.stringify({ version: version(), claims: decodeClaims(token), error }));`,
  );
  const token = [{ alg: "none" }, { sub: 7, roles: ["a", "b"], exp: 1.5e9 }]
    .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
    .concat("sig")
    .join(".");
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs", token], { cwd: app });
  const result = JSON.parse(stdout);
  assert.equal(result.version, pkgManifest.version);
  assert.deepEqual(result.claims, { sub: 7, roles: ["a", "b"], exp: 1.5e9 });
  assert.equal(result.error.isAuthError, true);
  assert.equal(result.error.isError, true);
  assert.equal(result.error.name, "AuthError");
  assert.equal(result.error.code, "invalid_token");
  assert.ok(!result.error.message.includes("a-token"), result.error.message);
});
