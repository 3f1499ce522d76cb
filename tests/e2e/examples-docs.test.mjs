// The README documents the whole public surface: every option of AuthClientOptions (read from
// the committed TypeScript API, which `make api-check` keeps equal to the build's), every event,
// every error code, the three profiles; and it shows the demo screenshot the demo suite takes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "./harness.mjs";

const readme = await readFile(join(repoRoot, "README.md"), "utf8");
const dts = await readFile(join(repoRoot, "api", "tokenkeeper.d.ts"), "utf8");

/** The README section under `heading` (up to the next heading of the same or a higher level). */
function section(heading) {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `the README has a "${heading}" section`);
  const level = heading.split(" ")[0];
  const rest = readme.slice(start + heading.length + 2);
  const next = rest.search(new RegExp(`\\n#{1,${level.length}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

/** The first-column entries (`` `name` ``) of the markdown table rows in `text`. */
function tableKeys(text) {
  return [...text.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]);
}

/** Option paths of `interface AuthClientOptions` in the .d.ts: `baseUrl`, `endpoints.login`, … */
function optionPaths() {
  const body = /export interface AuthClientOptions \{([\s\S]*?)\n\}/.exec(dts)?.[1];
  assert.ok(body, "api/tokenkeeper.d.ts declares AuthClientOptions");
  const paths = [];
  for (const [, name, type] of body.matchAll(/^\s+(\w+)\??:\s*(.+);$/gm)) {
    const nested = /^\{(.*)\}$/.exec(type.trim());
    if (nested) {
      for (const [, inner] of nested[1].matchAll(/(\w+)\??:/g)) paths.push(`${name}.${inner}`);
    } else {
      paths.push(name);
    }
  }
  return paths;
}

test("the README's options table has every option of AuthClientOptions, and only those", () => {
  const paths = optionPaths();
  // The parse itself is checked, so that a format change cannot make this test vacuous.
  assert.ok(paths.length >= 20, `parsed ${paths.length} options: ${paths}`);
  for (const expected of ["baseUrl", "endpoints.refresh", "login.usernameField", "responseFields.expiresIn", "apiOrigins"]) {
    assert.ok(paths.includes(expected), `parsed ${expected}`);
  }
  const documented = tableKeys(section("### Options"));
  const missing = paths.filter((path) => !documented.includes(path));
  assert.deepEqual(missing, [], "options missing from the README's table");
  const unknown = documented.filter((key) => !paths.includes(key));
  assert.deepEqual(unknown, [], "the README's table names options that do not exist");
});

test("the README documents every event and error code, and the three profiles", () => {
  const events = /export type AuthEvent = ([\s\S]*?);/.exec(dts)[1].match(/"[A-Z_]+"/g).map((e) => e.slice(1, -1));
  assert.equal(events.length, 6);
  assert.deepEqual(tableKeys(section("### Events")).sort(), [...events].sort());

  const codes = /export type AuthErrorCode =([\s\S]*?);/.exec(dts)[1].match(/"[a-z_]+"/g).map((c) => c.slice(1, -1));
  assert.equal(codes.length, 14);
  assert.deepEqual(tableKeys(section("### Error codes")).sort(), [...codes].sort());

  const profiles = section("### Backend profiles");
  assert.deepEqual(tableKeys(profiles), ["standard", "minimal", "v1"]);
  for (const profile of ["standard", "minimal", "v1"]) {
    assert.ok(profiles.includes(`// profile: "${profile}"`), `the ${profile} preset as options`);
  }
});

test("the README has a quick start per environment, the security advice and the screenshot", () => {
  for (const heading of ["### Browser, no bundler", "### Vite", "### Node ≥ 20", "### Rust (a wasm app)", "### How refresh timing works", "### Security advice"]) {
    assert.ok(section(heading).trim().length > 200, `"${heading}" has content`);
  }
  assert.match(readme, /!\[[^\]]+\]\(docs\/demo\.png\)/);
  const png = join(repoRoot, "docs", "demo.png");
  assert.ok(existsSync(png), "docs/demo.png exists (tests/e2e/demo.test.mjs writes it)");
});
