// The Node and Rust examples, run the way their READMEs say, against the companion server.
// `make examples` installs the Node example (npm ci: a `file:` link to pkg/) and builds the Rust
// one (cargo for wasm32, then wasm-bindgen --target web into examples/rust-app/web/wasm/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { launchChromium, openPage, repoRoot, startServer } from "./harness.mjs";

const pkgManifest = JSON.parse(await readFile(join(repoRoot, "pkg", "package.json"), "utf8"));
/** Anything that looks like a JWT (header.payload.): examples must never print one. */
const JWT = /eyJ[\w-]+\.[\w-]+\./;

const nodeExample = join(repoRoot, "www", "examples", "node");

/** Runs `node login.mjs <args>` in the example's folder; resolves with its stdout lines. */
async function runNodeExample(args) {
  const started = Date.now();
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ["login.mjs", ...args], {
    cwd: nodeExample,
    timeout: 20_000,
  });
  assert.ok(!JWT.test(stdout) && !JWT.test(stderr), `a token was printed:\n${stdout}\n${stderr}`);
  return { lines: stdout.trimEnd().split("\n"), stderr, elapsed: Date.now() - started };
}

test("the Node example imports the package by name, signs in, decodes, refreshes and logs out", async (t) => {
  const linked = join(nodeExample, "node_modules", "tokenkeeper");
  assert.ok(existsSync(linked), "www/examples/node is not installed: run `make examples`");
  assert.equal(await realpath(linked), await realpath(join(repoRoot, "pkg")), "tokenkeeper links to pkg/");

  // 30-second tokens: the script's own refresh() must work well before any timer would fire.
  const server = await startServer(["--access-ttl", "30"]);
  t.after(() => server.stop());

  const admin = await runNodeExample([server.url]);
  const lines = admin.lines;
  assert.equal(lines[0], `tokenkeeper ${pkgManifest.version} → ${server.url}`);
  assert.ok(lines.includes("wrong password → invalid_credentials (HTTP 401)"), lines.join("\n"));
  assert.ok(lines.some((l) => /^signed in: sub \S+, email admin@example\.com, role admin$/.test(l)), lines.join("\n"));
  assert.ok(
    lines.some((l) => /^token type access, expires \d{4}-\d\d-\d\dT[\d:.]+Z \(30 s lifetime\)$/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.includes('hasRole("admin"): true'));
  const me = lines.find((l) => l.startsWith("me: "));
  assert.equal(JSON.parse(me.slice(4)).email, "admin@example.com");
  assert.ok(lines.some((l) => /^refreshed: new token expires \d{4}-/.test(l)));
  assert.ok(lines.includes("signed out: session() is null"));
  const events = lines.filter((l) => l.startsWith("event ")).map((l) => l.split(" ")[1]);
  assert.deepEqual(events, ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"]);
  assert.ok(lines.includes("event SIGNED_IN (admin@example.com)"));
  assert.ok(admin.elapsed < 10_000, `the process exited promptly (${admin.elapsed} ms)`);

  // Another user, given on the command line: no admin role.
  const user = await runNodeExample([server.url, "user", "user-password"]);
  assert.ok(user.lines.some((l) => /^signed in: sub \S+, email user@example\.com, role user$/.test(l)));
  assert.ok(user.lines.includes('hasRole("admin"): false'));

  // A server that is not there: a network AuthError, exit status 1.
  const refused = await runNodeExample(["http://127.0.0.1:9"]).then(
    () => assert.fail("the example should fail without a server"),
    (error) => error,
  );
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^failed: network /m);
});

test("the Rust example app runs in Chromium against the companion server", async (t) => {
  const web = join(repoRoot, "examples", "rust-app", "web");
  const glue = join(web, "wasm", "tokenkeeper_rust_app.js");
  const wasm = join(web, "wasm", "tokenkeeper_rust_app_bg.wasm");
  assert.ok(existsSync(glue) && existsSync(wasm), "the Rust example is not built: run `make examples`");
  const source = join(repoRoot, "examples", "rust-app", "src", "lib.rs");
  assert.ok(
    statSync(wasm).mtimeMs >= statSync(source).mtimeMs,
    "the Rust example's build is older than its source: run `make examples`",
  );

  const server = await startServer(["--static-dir", web, "--access-ttl", "30"]);
  t.after(() => server.stop());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await openPage(await browser.newContext(), `${server.url}/`);
  await page.waitForSelector("#output[data-status]", { state: "attached", timeout: 20_000 });
  const text = await page.textContent("#output");
  assert.equal(await page.getAttribute("#output", "data-status"), "done", text);
  assert.ok(!JWT.test(text), "a token was printed");
  const lines = text.trimEnd().split("\n");

  assert.equal(lines[0], `tokenkeeper ${pkgManifest.version} against ${server.url}`);
  assert.ok(lines.includes("wrong password: invalid_credentials (HTTP 401)"), text);
  assert.ok(lines.some((l) => /^signed in: sub \S+ · email admin@example\.com · type access$/.test(l)), text);
  const claims = JSON.parse(lines.find((l) => l.startsWith("claims: ")).slice("claims: ".length));
  assert.equal(claims.role, "admin");
  assert.equal(claims.exp - claims.iat, 30);
  assert.ok(lines.includes('has_role("admin"): true'), text);
  const margin = Number(/^next refresh ([\d.]+) s before expiry$/m.exec(text)?.[1]);
  assert.ok(margin > 0 && margin <= 15, `the margin is capped at half the 30 s lifetime: ${margin}`);
  assert.equal(JSON.parse(lines.find((l) => l.startsWith("me: ")).slice(4)).email, "admin@example.com");
  assert.ok(lines.includes('GET /dashboard: 200 {"message":"Welcome Ada Admin!"}'), text);
  assert.ok(lines.includes("refreshed: a new access token, valid 30 s (exp − iat)"), text);
  assert.ok(lines.includes("signed out: session() is None"), text);
  const events = lines.filter((l) => l.startsWith("event ")).map((l) => l.split(" ")[1]);
  assert.deepEqual(events, ["INITIAL_SESSION", "SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT"]);
  assert.deepEqual(
    page.problems.filter((p) => p !== "http 401: POST /auth/login"),
    [],
  );
});
