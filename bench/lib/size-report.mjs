// Measures what bench/size.sh built: raw, gzip -9 and brotli (quality 11) of every .wasm and of
// its JS glue, and prints a Markdown section body; with a third argument, writes the figures as
// JSON for bench/run.sh (budgets).
//   node bench/lib/size-report.mjs WORK_DIR PKG_DIR [JSON_OUT]
// gzip -9 is the `gzip -9n` command (GNU gzip's deflate is ~0.5 % larger than zlib's level 9,
// and peers are quoted with it); brotli is Node's, quality 11 with a 24-bit window (byte for byte
// what `brotli -Z` writes). 1 KB = 1000 bytes.
// Each file is compressed on its own, as a server sends it; a total is the sum of its files.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { execFileSync } from "node:child_process";
import { brotliCompressSync, constants } from "node:zlib";

const [work, pkgDir, jsonOut] = process.argv.slice(2);

function measure(path) {
  const data = readFileSync(path);
  return {
    raw: data.length,
    gzip: execFileSync("gzip", ["-9nc"], { input: data, maxBuffer: 1 << 28 }).length,
    brotli: brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_LGWIN]: 24,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    }).length,
  };
}
const add = (a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });
const zero = { raw: 0, gzip: 0, brotli: 0 };

function filesUnder(dir, keep) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, keep));
    else if (keep(entry.name)) out.push(path);
  }
  return out.sort();
}
const isGlue = (name) => /\.(m?js|cjs)$/.test(name);

/** Custom sections and code/data of a .wasm, in bytes. */
function sections(path) {
  const b = readFileSync(path);
  let p = 8;
  const leb = () => {
    let r = 0, s = 0, x;
    do { x = b[p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80);
    return r;
  };
  const ids = { 10: "code", 11: "data" };
  const out = {};
  while (p < b.length) {
    const id = b[p++];
    const len = leb();
    const start = p;
    let name = ids[id] ?? "other";
    if (id === 0) {
      const n = leb();
      name = "custom:" + b.subarray(p, p + n).toString();
    }
    out[name] = (out[name] ?? 0) + len;
    p = start + len;
  }
  return out;
}

/** One wasm-bindgen output directory: the .wasm, the glue files, and the sum. */
function bundle(dir, { glueFilter = () => true } = {}) {
  const wasm = measure(join(dir, "tokenkeeper_bg.wasm"));
  const glueFiles = filesUnder(dir, isGlue).filter(glueFilter);
  const glue = glueFiles.map(measure).reduce(add, zero);
  return {
    wasm, glue, total: add(wasm, glue),
    glueFiles: glueFiles.map((f) => relative(dir, f)),
    sections: sections(join(dir, "tokenkeeper_bg.wasm")),
  };
}

const result = { unit: "bytes", pkg: null, targets: {}, features: {}, peers: {}, react: null };

// The npm package as built (browsers and bundlers load tokenkeeper.js, the snippets and the
// .wasm; tokenkeeper.node.mjs is Node's entry only, and react/ is tokenkeeper/react, which only
// React apps load and which is measured on its own below: neither is counted).
if (existsSync(join(pkgDir, "tokenkeeper_bg.wasm"))) {
  const core = (f) => !f.endsWith(".node.mjs") && !relative(pkgDir, f).startsWith("react");
  result.pkg = bundle(pkgDir, { glueFilter: core });
  result.pkg.built = statSync(join(pkgDir, "tokenkeeper_bg.wasm")).mtime.toISOString();
  // How scripts/build-pkg.sh built the standard library (it writes this note; older builds lack it).
  const stdNote = join(pkgDir, ".std-build");
  result.pkg.std = existsSync(stdNote) ? readFileSync(stdNote, "utf8").trim() : "unknown";
}
for (const target of ["web", "bundler", "nodejs"]) {
  result.targets[target] = {};
  for (const variant of ["names", "stripped", "opt"]) {
    result.targets[target][variant] = bundle(join(work, "targets", target, variant));
  }
}
const featureOrder = (name) => (name === "default" ? "0" : name === "all-features" ? "2" : "1" + name);
for (const name of readdirSync(join(work, "features")).sort((a, b) => featureOrder(a).localeCompare(featureOrder(b)))) {
  const dir = join(work, "features", name);
  result.features[name] = {
    cargo: measure(join(dir, "cargo.wasm")),
    ...(name === "default"
      ? { stripped: result.targets.web.stripped, opt: result.targets.web.opt }
      : { stripped: bundle(join(dir, "web", "stripped")), opt: bundle(join(dir, "web", "opt")) }),
  };
}
const peerDir = join(work, "peers");
for (const file of existsSync(peerDir) ? readdirSync(peerDir).filter((f) => f.endsWith(".min.js")) : []) {
  result.peers[file.replace(/\.min\.js$/, "")] = measure(join(peerDir, file));
}
const reactMin = join(work, "react", "index.min.js");
if (existsSync(reactMin)) {
  result.react = { source: measure(join(pkgDir, "react", "index.js")), minified: measure(reactMin) };
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + "\n");

// --- Markdown -----------------------------------------------------------------------------------
const kb = (n) => (n / 1000).toFixed(1);
const triple = (m) => `${kb(m.raw)} | ${kb(m.gzip)} | ${kb(m.brotli)}`;
const lines = [];
const variantName = {
  names: "with name section (wasm-bindgen default)",
  stripped: "`--remove-name-section --remove-producers-section`",
  opt: "stripped + the package's `wasm-opt -O1 --shrink-level=1`",
};
if (result.pkg) {
  const s = result.pkg.sections;
  lines.push(
    "**The npm package as built** (`pkg/`, `scripts/build-pkg.sh`; what a browser downloads: " +
      `\`tokenkeeper_bg.wasm\` + ${result.pkg.glueFiles.map((f) => `\`${f}\``).join(" + ")}):`,
    "",
    "| file | raw KB | gzip -9 KB | brotli KB |",
    "|---|---:|---:|---:|",
    `| .wasm | ${triple(result.pkg.wasm)} |`,
    `| JS glue | ${triple(result.pkg.glue)} |`,
    `| **total** | **${kb(result.pkg.total.raw)}** | **${kb(result.pkg.total.gzip)}** | **${kb(result.pkg.total.brotli)}** |`,
    "",
    `Inside the .wasm: code ${kb(s.code ?? 0)} KB, data ${kb(s.data ?? 0)} KB, ` +
      `name section ${kb(s["custom:name"] ?? 0)} KB, producers ${kb(s["custom:producers"] ?? 0)} KB (raw).`,
    `Standard library: ${result.pkg.std} (see \`scripts/build-pkg.sh\`; the rows below use the prebuilt one).`,
    "",
  );
}
lines.push(
  "**Per wasm-bindgen target** (the package's features, `--no-default-features --features talc-allocator`, with the prebuilt standard library, built into `target/wasm32-unknown-unknown/release/tokenkeeper.wasm`; the JavaScript driver is not in these glue files, only in the package's):",
  "",
  "| target | .wasm variant | .wasm raw | .wasm gzip | .wasm brotli | glue raw | glue gzip | glue brotli | total gzip | total brotli |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
);
for (const [target, variants] of Object.entries(result.targets)) {
  for (const [variant, b] of Object.entries(variants)) {
    lines.push(
      `| ${target} | ${variantName[variant]} | ${triple(b.wasm)} | ${triple(b.glue)} | ${kb(b.total.gzip)} | ${kb(b.total.brotli)} |`,
    );
  }
}
lines.push(
  "",
  "Glue files: " +
    Object.entries(result.targets)
      .map(([t, v]) => `${t}: ${v.names.glueFiles.map((f) => `\`${f}\``).join(" + ")}`)
      .join("; ") +
    ". Every wasm-opt output above was loaded in Node with its glue (web, nodejs) and decoded a token.",
  "",
  "**Per cargo feature set** (target web, KB gzip -9 / brotli of .wasm + glue; `default` is the package's set, as above; the crate's `default` feature is `driver`, the Rust driver for Rust apps, which the package leaves out):",
  "",
  "| feature set | stripped .wasm raw | stripped: total gzip | stripped: total brotli | + wasm-opt: total gzip | + wasm-opt: total brotli |",
  "|---|---:|---:|---:|---:|---:|",
);
for (const [name, f] of Object.entries(result.features)) {
  lines.push(
    `| ${name} | ${kb(f.stripped.wasm.raw)} | ${kb(f.stripped.total.gzip)} | ${kb(f.stripped.total.brotli)} | ${kb(f.opt.total.gzip)} | ${kb(f.opt.total.brotli)} |`,
  );
}
if (Object.keys(result.features).length === 1) {
  lines.push("", "The crate declares no optional cargo features yet: the default set is the only one.");
}
const ours = result.pkg?.total.gzip;
lines.push(
  "",
  "**Peers** (gzip -9 KB; decoders measured in this run, bundled and minified with rolldown " +
    "(Vite 8's bundler, Oxc minifier) rather than esbuild; the session SDKs are *cited, not measured*: " +
    "esbuild minified + gzip -9, from the team's toolchain notes; their packages are not installed here):",
  "",
  `| peer | raw KB | gzip -9 KB | brotli KB | source | tokenkeeper (${ours ? kb(ours) : "?"} KB gzip) ÷ peer |`,
  "|---|---:|---:|---:|---|---:|",
);
const peerLabel = { "jose-decodeJwt": "jose `decodeJwt` only", "jwt-decode": "jwt-decode `jwtDecode`" };
const ratio = (gzipBytes) => (ours ? `${(ours / gzipBytes).toFixed(1)}×` : "");
for (const [name, m] of Object.entries(result.peers)) {
  lines.push(`| ${peerLabel[name] ?? name} | ${triple(m)} | measured | ${ratio(m.gzip)} |`);
}
for (const [name, gz] of [
  ["oidc-client-ts", 17.7],
  ["supabase auth-js", 25.1],
  ["firebase/auth", 34.9],
  ["auth0-spa-js", 64.9],
]) {
  lines.push(`| ${name} | | ${gz.toFixed(1)} | | cited, not measured | ${ratio(gz * 1000)} |`);
}
if (result.react) {
  lines.push(
    "",
    "**`tokenkeeper/react`** (`pkg/react/index.js`, the React binding; not in the package total above: " +
      "apps without React never load it):",
    "",
    "| file | raw KB | gzip -9 KB | brotli KB |",
    "|---|---:|---:|---:|",
    `| as shipped | ${triple(result.react.source)} |`,
    `| minified with rolldown (React and the core external) | ${triple(result.react.minified)} |`,
  );
}
console.log(lines.join("\n"));
