// Turns wasm-pack's `--target web` output into one package that works everywhere:
// - browsers without a bundler and bundlers such as Vite load `tokenkeeper.js`, whose `init()`
//   fetches the .wasm next to it (`new URL(..., import.meta.url)`, which Vite understands);
// - Node >= 20 loads `tokenkeeper.node.mjs`, which compiles the .wasm from disk at import time
//   (Node's fetch cannot read file: URLs), so `await init()` there resolves at once.
// The same import line therefore works in all three; the `exports` conditions pick the file.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readNames, renameGlue, renameTypes, renameWasm, shortNames } from "./wasm-names.mjs";

const dir = process.argv[2] ?? "pkg";
const manifestPath = join(dir, "package.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));

const entry = join(dir, "tokenkeeper.js");
let glue = readFileSync(entry, "utf8");

// The names the module and the glue know each other by: wasm-bindgen's are long and hashed
// (`__wbg_set_d2d33b52458e984a` under "./tokenkeeper_bg.js"), spelled once in the module and once
// as a property key in the glue, which the minifier must keep. One or two letters instead: -2.2 KB
// gzip (.wasm -1331 B, glue -869 B; scripts/wasm-names.mjs). The fields imported from a snippet
// keep their names: they are the snippet's own exports. This runs on the glue as wasm-bindgen
// wrote it, and fails the build if the glue refers to a name in any way it does not know.
const wasmPath = join(dir, "tokenkeeper_bg.wasm");
const wasmBytes = readFileSync(wasmPath);
const names = shortNames(readNames(wasmBytes), { renameFields: (module) => !module.startsWith("./snippets/") });
glue = renameGlue(glue, names, (source) => {
  const { program, errors } = requireFromWorkspace("rolldown/experimental").parseSync("tokenkeeper.js", source);
  if (errors.length) throw new Error(`parsing tokenkeeper.js: ${errors.map((e) => e.message).join("; ")}`);
  return program;
});
const renamedWasm = renameWasm(wasmBytes, names);
if (!WebAssembly.validate(renamedWasm)) throw new Error("the renamed tokenkeeper_bg.wasm does not validate");
writeFileSync(wasmPath, renamedWasm);
// The declarations of the raw exports (`InitOutput`, what `init()` resolves to, and the unpublished
// tokenkeeper_bg.wasm.d.ts) say the new names, as they are at run time.
for (const file of ["tokenkeeper.d.ts", "tokenkeeper_bg.wasm.d.ts"]) {
  const path = join(dir, file);
  if (existsSync(path)) writeFileSync(path, renameTypes(readFileSync(path, "utf8"), names));
}

// wasm-bindgen puts each JS snippet (`#[wasm_bindgen(module = "/src/js/...")]`) in a module of its
// own under snippets/, which the entry imports. In a browser every module is one more request the
// entry waits for before it runs: measured, two snippets cost a cold page 20-40 ms of the import
// (bench/speed.mjs, section 4). So the snippets are inlined into the entry, each in a function
// scope of its own, and snippets/ is removed: one module, one request.
const snippetDir = join(dir, "snippets");
const snippets = existsSync(snippetDir) ? listFiles(snippetDir) : [];
snippets.forEach((file, index) => {
  const specifier = `./${relative(dir, file)}`;
  const source = readFileSync(file, "utf8");
  const exported = [];
  const body = source.replace(/^export (?=(?:async )?function\b|class\b|const\b|let\b)/gm, () => "");
  for (const match of source.matchAll(/^export (?:async )?(?:function|class|const|let)\s+([A-Za-z_$][\w$]*)/gm)) {
    exported.push(match[1]);
  }
  // Anything else (imports, `export default`, `export { ... }`) would need a real bundler.
  if (/^\s*(import|export)\b/m.test(body)) {
    throw new Error(`${specifier}: only top-level "export function|class|const|let" can be inlined`);
  }
  const name = `__snippet${index}`;
  const inlined = `const ${name} = (() => {\n${body.trimEnd()}\nreturn { ${exported.join(", ")} };\n})();\n`;
  const quoted = `["']${escapeRegExp(specifier)}["']`;
  const named = new RegExp(`^import \\{([^}]*)\\} from ${quoted};?\\n`, "m");
  const namespace = new RegExp(`^import \\* as ([\\w$]+) from ${quoted};?\\n`, "m");
  const reexport = new RegExp(`^export \\{([^}]*)\\} from ${quoted};?\\n`, "m");
  let replaced = false;
  glue = glue.replace(named, (_, names) => {
    replaced = true;
    const bindings = names.split(",").map((n) => n.trim()).filter(Boolean).map((n) => n.replace(/\s+as\s+/, ": "));
    return `${inlined}const { ${bindings.join(", ")} } = ${name};\n`;
  });
  glue = glue.replace(namespace, (_, alias) => {
    const line = `const ${alias} = ${name};\n`;
    if (replaced) return line;
    replaced = true;
    return inlined + line;
  });
  if (!replaced) throw new Error(`${specifier}: the entry does not import it the way wasm-bindgen does`);
  glue = glue.replace(reexport, (_, names) => `export {${names}};\n`);
});
// The JavaScript driver (src/js/driver/): the public `AuthClient` and the adapters it runs the
// core's effects with. Its files share one function scope after the glue, where they see the
// glue's `Core` (the wasm core) and `AuthError`; only `AuthClient` leaves it.
const DRIVER_FILES = ["util.js", "storage.js", "lock.js", "tabs.js", "page.js", "http.js", "dpop.js", "client.js"];
const driverDir = fileURLToPath(new URL("../src/js/driver/", import.meta.url));
const driver = DRIVER_FILES.map((file) => {
  const source = readFileSync(join(driverDir, file), "utf8");
  const body = source.replace(/^export (?=class AuthClient\b)/m, "");
  if (/^\s*(import|export)\b/m.test(body)) throw new Error(`src/js/driver/${file}: only AuthClient may be exported, and nothing imported`);
  return `// src/js/driver/${file}\n${body}`;
});
glue += `const { AuthClient } = (() => {\n${driver.join("\n")}\nreturn { AuthClient };\n})();\nexport { AuthClient };\n`;
// `AuthError` is a JS class (it must extend Error) that wasm-bindgen imports from a snippet; the
// entry exports it so that apps can `import { AuthError } from "tokenkeeper"`.
if (!/^export \{ ?AuthError ?\};?$/m.test(glue)) glue += "export { AuthError };\n";
if (/^(import|export)\b.*["']\.\/snippets\//m.test(glue)) throw new Error("tokenkeeper.js still imports from snippets/");
writeFileSync(entry, minified(glue));
rmSync(snippetDir, { recursive: true, force: true });

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

// `tokenkeeper/react` (src/react/): hand-written JS and types, copied as they are. It imports the
// core lazily as `../tokenkeeper.js`, so it must sit one folder below the entry.
const reactDir = join(dir, "react");
const reactSource = fileURLToPath(new URL("../src/react/", import.meta.url));
mkdirSync(reactDir, { recursive: true });
for (const file of ["index.js", "index.d.ts"]) copyFileSync(join(reactSource, file), join(reactDir, file));
// React stays optional (peerDependenciesMeta): installing the package never installs React, and
// only apps that import "tokenkeeper/react" load it. 18 is the first with useSyncExternalStore.
const reactPeer = ">=18";

const finished = {
  name: "tokenkeeper",
  version: manifest.version,
  description: manifest.description,
  license: manifest.license,
  keywords: manifest.keywords,
  type: "module",
  engines: { node: ">=20" },
  files: [...new Set([...(manifest.files ?? []).filter((f) => !f.startsWith("snippets")), nodeEntry, "react/"])],
  main: "tokenkeeper.js",
  module: "tokenkeeper.js",
  types: "tokenkeeper.d.ts",
  exports: {
    ".": {
      types: "./tokenkeeper.d.ts",
      node: "./tokenkeeper.node.mjs",
      default: "./tokenkeeper.js",
    },
    "./react": {
      types: "./react/index.d.ts",
      default: "./react/index.js",
    },
    "./tokenkeeper_bg.wasm": "./tokenkeeper_bg.wasm",
    "./package.json": "./package.json",
  },
  sideEffects: [`./${nodeEntry}`],
  peerDependencies: { react: reactPeer },
  peerDependenciesMeta: { react: { optional: true } },
};
writeFileSync(manifestPath, JSON.stringify(finished, null, 2) + "\n");
console.log(`pkg: ${finished.name}@${finished.version} (exports: browser, bundler, node; react)`);

// The glue ships minified, as the JS SDKs it is compared with do (bench/RESULTS.md): its doc
// comments and long local names are half of its gzip size, and apps read the API from
// tokenkeeper.d.ts. Oxc's minifier through rolldown, which the workspace already has (Vite's
// bundler). Class names are kept (`AuthClient`, `AuthError`, `Core` in stack traces and the
// console), and so is the leading type hint for Deno; function names are not, as esbuild's
// `--minify` (the peers' measure) does not keep them: -0.5 KB gzip.
function minified(source) {
  const { minifySync } = requireFromWorkspace("rolldown/experimental");
  const keepNames = { function: false, class: true };
  const { code, errors } = minifySync("tokenkeeper.js", source, {
    module: true,
    compress: { keepNames },
    mangle: { keepNames },
  });
  if (errors.length) throw new Error(`minifying tokenkeeper.js: ${errors.map((e) => e.message).join("; ")}`);
  const typesHint = source.match(/^\/\* @ts-self-types="[^"]+" \*\/\n/)?.[0] ?? "";
  return typesHint + code;
}

function requireFromWorkspace(specifier) {
  try {
    return createRequire(import.meta.url)(specifier);
  } catch (error) {
    throw new Error(`${specifier} is missing: run scripts/setup.sh (npm ci) first (${error.message})`);
  }
}

function listFiles(root) {
  return readdirSync(root, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(root, entry.name)) : [join(root, entry.name)]))
    .sort();
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
