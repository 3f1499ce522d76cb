// Turns wasm-pack's `--target web` output into one package that works everywhere:
// - browsers without a bundler and bundlers such as Vite load `tokenkeeper.js`, whose `init()`
//   fetches the .wasm next to it (`new URL(..., import.meta.url)`, which Vite understands);
// - Node >= 20 loads `tokenkeeper.node.mjs`, which compiles the .wasm from disk at import time
//   (Node's fetch cannot read file: URLs), so `await init()` there resolves at once.
// The same import line therefore works in all three; the `exports` conditions pick the file.
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const dir = process.argv[2] ?? "pkg";
const manifestPath = join(dir, "package.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));

// `AuthError` is a JS class (it must extend Error) that wasm-bindgen imports from a snippet;
// the entry module re-exports it so apps can `import { AuthError } from "tokenkeeper"`.
const errorSnippet = findFile(join(dir, "snippets"), "auth_error.js");
if (!errorSnippet) throw new Error("auth_error.js snippet missing from the wasm-bindgen output");
const entry = join(dir, "tokenkeeper.js");
const reexport = `export { AuthError } from "./${relative(dir, errorSnippet)}";\n`;
if (!readFileSync(entry, "utf8").includes(reexport)) appendFileSync(entry, reexport);

const nodeEntry = "tokenkeeper.node.mjs";
writeFileSync(
  join(dir, nodeEntry),
  `// Node entry: instantiate the module synchronously from disk, then re-export the web build.
import { readFileSync } from "node:fs";
import init, { initSync } from "./tokenkeeper.js";

initSync({ module: readFileSync(new URL("./tokenkeeper_bg.wasm", import.meta.url)) });

export * from "./tokenkeeper.js";
export default init;
`,
);

const finished = {
  name: "tokenkeeper",
  version: manifest.version,
  description: manifest.description,
  license: manifest.license,
  keywords: manifest.keywords,
  type: "module",
  engines: { node: ">=20" },
  files: [...new Set([...(manifest.files ?? []), nodeEntry, "snippets/"])],
  main: "tokenkeeper.js",
  module: "tokenkeeper.js",
  types: "tokenkeeper.d.ts",
  exports: {
    ".": {
      types: "./tokenkeeper.d.ts",
      node: "./tokenkeeper.node.mjs",
      default: "./tokenkeeper.js",
    },
    "./tokenkeeper_bg.wasm": "./tokenkeeper_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects: [`./${nodeEntry}`, "./snippets/*"],
};
writeFileSync(manifestPath, JSON.stringify(finished, null, 2) + "\n");
console.log(`pkg: ${finished.name}@${finished.version} (exports: browser, bundler, node)`);

function findFile(root, name) {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (entry.name === name) {
      return path;
    }
  }
  return null;
}
