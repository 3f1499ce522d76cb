// Loads each wasm-bindgen output directory given on the command line in Node, with its own glue,
// and checks that the module works: decodeClaims on a token, and the core (`Core`) constructed
// and started.
// Used by bench/size.sh on every wasm-opt output (wasm-opt is an extra step the release build
// does not run, so its output must be shown to load before its size counts).
//   node bench/lib/load-check.mjs DIR...   (a `--target nodejs` directory has "nodejs" in its path)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
const exp = Math.floor(Date.now() / 1000) + 600;
const token = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url({ sub: "42", exp, roles: ["admin"] })}.c2ln`;

let failed = 0;
for (const dir of process.argv.slice(2)) {
  try {
    let tk;
    if (/nodejs/.test(dir)) {
      tk = createRequire(import.meta.url)(join(dir, "tokenkeeper.js"));
    } else {
      tk = await import(pathToFileURL(join(dir, "tokenkeeper.js")).href);
      tk.initSync({ module: readFileSync(join(dir, "tokenkeeper_bg.wasm")) });
    }
    const claims = tk.decodeClaims(token);
    if (claims.sub !== "42" || claims.exp !== exp) throw new Error(`decodeClaims gave ${JSON.stringify(claims)}`);
    // The raw wasm-bindgen output holds the core only; the package's `AuthClient` is the
    // JavaScript driver that scripts/finish-pkg.mjs adds. So the core is constructed here.
    const options = { baseUrl: "http://127.0.0.1:9", autoRefresh: false };
    const core = new tk.Core(options, "memory", null, 1);
    if (core.isAuthenticated() !== false) throw new Error("a new core is authenticated");
    if (!Array.isArray(core.start(null, null))) throw new Error("start() gave no effects");
    core.free();
    console.log(`load-check ok: ${dir}`);
  } catch (error) {
    failed += 1;
    console.log(`load-check FAILED: ${dir}: ${error?.stack ?? error}`);
  }
}
process.exit(failed ? 1 : 0);
