// The package works in a Vite app with the documented import line: Vite bundles the web build,
// emits the .wasm as an asset, and the page runs it in Chromium, served by the companion server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { launchChromium, openPage, repoRoot, startServer } from "./harness.mjs";

test("a Vite build imports the package by name and runs it in Chromium", async (t) => {
  const app = await mkdtemp(join(tmpdir(), "tokenkeeper-vite-"));
  t.after(() => rm(app, { recursive: true, force: true }));
  await mkdir(join(app, "node_modules"));
  await symlink(join(repoRoot, "pkg"), join(app, "node_modules", "tokenkeeper"), "dir");
  await writeFile(
    join(app, "index.html"),
    `<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>`,
  );
  const token = [{ alg: "HS256" }, { sub: "vite-user", role: "admin" }]
    .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
    .concat("sig")
    .join(".");
  await writeFile(
    join(app, "main.js"),
    `import init, { AuthError, decodeClaims, version } from "tokenkeeper";
init().then(() => {
  let code = null;
  try { decodeClaims("x"); } catch (e) { code = e instanceof AuthError ? e.code : "not an AuthError"; }
  const claims = decodeClaims(${JSON.stringify(token)});
  document.body.dataset.result = JSON.stringify({ version: version(), sub: claims.sub, code });
});`,
  );
  await build({ root: app, logLevel: "silent", build: { outDir: join(app, "dist") } });

  const server = await startServer(["--static-dir", join(app, "dist")]);
  t.after(() => server.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await openPage(await browser.newContext(), `${server.url}/`);
  await page.waitForSelector("body[data-result]", { state: "attached" });
  const result = JSON.parse(await page.getAttribute("body", "data-result"));
  assert.equal(result.sub, "vite-user");
  assert.equal(result.code, "invalid_token");
  assert.match(result.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(page.problems, []);
});
