// Turns wasm-pack's `--target web` output into one package that works everywhere:
// - browsers without a bundler and bundlers such as Vite load `tokenkeeper.js`, whose `init()`
//   fetches the .wasm next to it (`new URL(..., import.meta.url)`, which Vite understands);
// - Node >= 20 loads `tokenkeeper.node.mjs`, which compiles the .wasm from disk at import time
//   (Node's fetch cannot read file: URLs), so `await init()` there resolves at once.
// The same import line therefore works in all three; the `exports` conditions pick the file.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? "pkg";
const manifestPath = join(dir, "package.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));

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
  files: [...new Set([...(manifest.files ?? []), nodeEntry])],
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
