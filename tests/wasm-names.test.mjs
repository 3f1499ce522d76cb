// Unit tests of scripts/wasm-names.mjs, the package build's renaming of the names the wasm module
// and its glue know each other by.   node --test tests/wasm-names.test.mjs
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { readFunctionNames, readNames, renameGlue, renameTypes, renameWasm, shortNames } from "../scripts/wasm-names.mjs";

// --- A small wasm encoder, enough for import and export sections of every kind.
const uleb = (n) => {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
};
const name = (text) => {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
};
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, payload) => [id, ...uleb(payload.length), ...payload];
const module = (...sections) => Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...sections.flat()]);
const typeSection = section(1, vec([[0x60, 0, 0]])); // one type: () -> ()
const customSection = section(0, [...name("keep.me"), 1, 2, 3, 0xff]);
const long = "x".repeat(200); // its length takes two LEB128 bytes
const importsOfEveryKind = [
  [...name("./tokenkeeper_bg.js"), ...name("__wbg_set_d2d33b52458e984a"), 0x00, 0x00], // func, type 0
  [...name("./tokenkeeper_bg.js"), ...name(long), 0x01, 0x70, 0x00, 0x01], // table funcref, min 1
  [...name("./tokenkeeper_bg.js"), ...name("t2"), 0x01, 0x6f, 0x01, 0x01, ...uleb(300)], // table externref 1..300
  [...name("./tokenkeeper_bg.js"), ...name("mem"), 0x02, 0x03, 0x01, 0x02], // shared memory 1..2
  [...name("./tokenkeeper_bg.js"), ...name("g1"), 0x03, 0x7f, 0x00], // global i32, immutable
  [...name("./tokenkeeper_bg.js"), ...name("g2"), 0x03, 0x6f, 0x01], // global externref, mutable
  [...name("./snippets/x-1/src/js/decode.js"), ...name("decodeClaimsFast"), 0x00, 0x00],
  [...name("./tokenkeeper_bg.js"), ...name("tag"), 0x04, 0x00, 0x00], // tag, type 0
];
const exportsOfEveryKind = [
  [...name("core_response"), 0x00, 0x00],
  [...name("__wbindgen_externrefs"), 0x01, 0x01],
  [...name("memory"), 0x02, 0x00],
  [...name("__instance_terminated"), 0x03, 0x00],
  [...name("some_tag"), 0x04, 0x00],
];
const everyKind = module(typeSection, section(2, vec(importsOfEveryKind)), customSection, section(7, vec(exportsOfEveryKind)));

test("reads the names of imports and exports of every kind", () => {
  const { imports, exports } = readNames(everyKind);
  assert.deepEqual(
    imports.map((i) => [i.module, i.field, i.kind]),
    [
      ["./tokenkeeper_bg.js", "__wbg_set_d2d33b52458e984a", "func"],
      ["./tokenkeeper_bg.js", long, "table"],
      ["./tokenkeeper_bg.js", "t2", "table"],
      ["./tokenkeeper_bg.js", "mem", "memory"],
      ["./tokenkeeper_bg.js", "g1", "global"],
      ["./tokenkeeper_bg.js", "g2", "global"],
      ["./snippets/x-1/src/js/decode.js", "decodeClaimsFast", "func"],
      ["./tokenkeeper_bg.js", "tag", "tag"],
    ],
  );
  assert.deepEqual(exports.map((e) => [e.name, e.kind]), [
    ["core_response", "func"],
    ["__wbindgen_externrefs", "table"],
    ["memory", "memory"],
    ["__instance_terminated", "global"],
    ["some_tag", "tag"],
  ]);
});

test("reads the function names of the name section, skipping its other subsections", () => {
  const subsection = (id, payload) => [id, ...uleb(payload.length), ...payload];
  const nameSection = section(0, [
    ...name("name"),
    ...subsection(0, name("tokenkeeper.wasm")), // the module's name
    ...subsection(1, vec([[0, ...name("_ZN4core3num7flt2dec")], [3, ...name("decode")]])),
    ...subsection(2, vec([[0, ...vec([[0, ...name("x")]])]])), // local names
  ]);
  const withNames = module(typeSection, customSection, nameSection);
  assert.deepEqual(readFunctionNames(withNames), ["_ZN4core3num7flt2dec", "decode"]);
  assert.deepEqual(readFunctionNames(everyKind), []);
  const cut = module(typeSection, section(0, [...name("name"), 1, 9, 1, 0]));
  assert.throws(() => readFunctionNames(cut), /runs past/);
});

test("renames imports and exports and leaves every other byte alone", () => {
  const mapping = shortNames(readNames(everyKind), { renameFields: (m) => !m.startsWith("./snippets/") });
  const renamed = renameWasm(everyKind, mapping);
  const { imports, exports } = readNames(renamed);
  assert.deepEqual(imports.map((i) => [i.module, i.field, i.kind]), [
    ["a", "a", "func"],
    ["a", "b", "table"],
    ["a", "c", "table"],
    ["a", "d", "memory"],
    ["a", "e", "global"],
    ["a", "f", "global"],
    ["b", "decodeClaimsFast", "func"],
    ["a", "g", "tag"],
  ]);
  assert.deepEqual(exports.map((e) => [e.name, e.kind]), [["a", "func"], ["b", "table"], ["c", "memory"], ["d", "global"], ["e", "tag"]]);
  // The same descriptors, the same other sections.
  const expected = module(
    typeSection,
    section(2, vec([
      [...name("a"), ...name("a"), 0x00, 0x00],
      [...name("a"), ...name("b"), 0x01, 0x70, 0x00, 0x01],
      [...name("a"), ...name("c"), 0x01, 0x6f, 0x01, 0x01, ...uleb(300)],
      [...name("a"), ...name("d"), 0x02, 0x03, 0x01, 0x02],
      [...name("a"), ...name("e"), 0x03, 0x7f, 0x00],
      [...name("a"), ...name("f"), 0x03, 0x6f, 0x01],
      [...name("b"), ...name("decodeClaimsFast"), 0x00, 0x00],
      [...name("a"), ...name("g"), 0x04, 0x00, 0x00],
    ])),
    customSection,
    section(7, vec([
      [...name("a"), 0x00, 0x00],
      [...name("b"), 0x01, 0x01],
      [...name("c"), 0x02, 0x00],
      [...name("d"), 0x03, 0x00],
      [...name("e"), 0x04, 0x00],
    ])),
  );
  assert.deepEqual(renamed, expected);
});

test("the renamed module is one the engine accepts, with the new names", () => {
  // Node 20 validates everything above but tags and shared memory across versions alike: leave
  // those two out here.
  const plain = module(
    typeSection,
    section(2, vec([importsOfEveryKind[0], importsOfEveryKind[1], importsOfEveryKind[2], importsOfEveryKind[4], importsOfEveryKind[5]])),
    section(7, vec([exportsOfEveryKind[0], [...name("__wbindgen_externrefs"), 0x01, 0x01], [...name("g"), 0x03, 0x01]])),
  );
  assert.ok(WebAssembly.validate(plain));
  const renamed = renameWasm(plain, shortNames(readNames(plain)));
  assert.ok(WebAssembly.validate(renamed));
  const compiled = new WebAssembly.Module(renamed);
  assert.deepEqual(WebAssembly.Module.imports(compiled).map((i) => `${i.module}.${i.name}:${i.kind}`), ["a.a:function", "a.b:table", "a.c:table", "a.d:global", "a.e:global"]);
  assert.deepEqual(WebAssembly.Module.exports(compiled).map((e) => `${e.name}:${e.kind}`), ["a:function", "b:table", "c:global"]);
});

test("an identity mapping gives back the same bytes, LEB128 lengths included", () => {
  const names = readNames(everyKind);
  const same = (keys) => new Map(keys.map((k) => [k, k]));
  const identity = {
    modules: same([...new Set(names.imports.map((i) => i.module))]),
    fields: new Map([...new Set(names.imports.map((i) => i.module))].map((m) => [m, same(names.imports.filter((i) => i.module === m).map((i) => i.field))])),
    exports: same(names.exports.map((e) => e.name)),
  };
  assert.deepEqual(renameWasm(everyKind, identity), everyKind);
});

test("a section whose size shrinks below 128 gets a one-byte size", () => {
  const big = module(section(7, vec([[...name(long), 0x02, 0x00]])));
  assert.equal(big[9] & 0x80, 0x80, "the fixture's export section size takes two bytes");
  assert.deepEqual(renameWasm(big, shortNames(readNames(big))), module(section(7, vec([[...name("a"), 0x02, 0x00]]))));
});

test("fails on a name it has no new name for, on unknown encodings and on truncation", () => {
  const mapping = shortNames(readNames(everyKind));
  mapping.exports.delete("memory");
  assert.throws(() => renameWasm(everyKind, mapping), /no new name for export "memory"/);
  // The compact import encoding (empty field name, then 0x7f): fails rather than misreads.
  const compact = module(section(2, vec([[...name("a"), ...name(""), 0x7f, ...vec([[...name("f"), 0x00, 0x00]])]])));
  assert.throws(() => readNames(compact), /unknown import\/export kind 127 \(compact import encoding/);
  assert.throws(() => readNames(everyKind.subarray(0, everyKind.length - 3)), /runs past the end/);
  assert.throws(() => readNames(Uint8Array.from([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), /unsupported wasm binary version/);
  assert.throws(() => readNames(module(section(2, [...vec([importsOfEveryKind[0]]), 0]))), /1 bytes left over/);
});

test("short names: a..z, A..Z, then two letters, without keywords; one per distinct field", () => {
  const imports = Array.from({ length: 60 }, (_, i) => ({ module: "m", field: `f${i}` }));
  imports.push({ module: "m", field: "f0" }); // imported twice (two signatures): one name
  const exports = Array.from({ length: 52 + 26 * 3 + 10 }, (_, i) => ({ name: `e${i}` }));
  const { modules, fields, exports: renamed } = shortNames({ imports, exports });
  assert.deepEqual([...modules], [["m", "a"]]);
  const fieldNames = [...fields.get("m").values()];
  assert.equal(fieldNames.length, 60);
  assert.deepEqual(fieldNames.slice(0, 3), ["a", "b", "c"]);
  assert.deepEqual(fieldNames.slice(50, 56), ["Y", "Z", "aa", "ab", "ac", "ad"]);
  const exportNames = [...renamed.values()];
  assert.equal(new Set(exportNames).size, exportNames.length);
  for (const keyword of ["do", "if", "in"]) assert.ok(!exportNames.includes(keyword), keyword);
  assert.throws(() => shortNames({ imports: [], exports: [{ name: "x" }, { name: "x" }] }), /appears twice/);
});

// --- The glue: the shape wasm-bindgen 0.2 writes for `--target web`, cut down.
const glueSource = `/* @ts-self-types="./tokenkeeper.d.ts" */
import * as import1 from "./snippets/x-1/src/js/decode.js"

export class Core {
    free() {
        wasm.__wbg_core_free(this.__wbg_ptr, 0);
    }
    /** Talks to wasm. */
    response(a) {
        const ret = wasm.core_response(this.__wbg_ptr, a);
        return ret;
    }
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_set_d2d33b52458e984a: function(arg0, arg1, arg2) {
            arg0[arg1] = arg2;
        },
        __wbindgen_init_externref_table: function() {
            const table = wasm.__wbindgen_externrefs;
            table.set(0, undefined);
        },
    };
    return {
        __proto__: null,
        "./tokenkeeper_bg.js": import0,
        "./snippets/x-1/src/js/decode.js": import1,
    };
}
function getMemory() {
    if (module.headers.get('Content-Type') !== 'application/wasm') return null; // not the variable
    return new Uint8Array(wasm.memory.buffer);
}
let wasmModule, wasmInstance, wasm;
function __wbg_finalize_init(instance, module) {
    wasm = instance.exports;
    wasm.__wbindgen_start();
    return wasm;
}
function initSync(module) {
    if (wasm !== undefined) return wasm;
}
`;
const glueNames = {
  imports: [
    { module: "./tokenkeeper_bg.js", field: "__wbg_set_d2d33b52458e984a" },
    { module: "./snippets/x-1/src/js/decode.js", field: "decodeClaimsFast" },
    { module: "./tokenkeeper_bg.js", field: "__wbindgen_init_externref_table" },
  ],
  exports: ["memory", "__wbg_core_free", "core_response", "__wbindgen_externrefs", "__wbindgen_start", "__abort_handler"].map((n) => ({ name: n })),
};
const glueMapping = () => shortNames(glueNames, { renameFields: (m) => !m.startsWith("./snippets/") });
const parse = (source) => {
  const { parseSync } = createRequire(import.meta.url)("rolldown/experimental");
  const { program, errors } = parseSync("tokenkeeper.js", source);
  if (errors.length) throw new Error(errors[0].message);
  return program;
};

test("renames the glue's import keys, module keys and export reads", () => {
  const renamed = renameGlue(glueSource, glueMapping(), parse);
  const expected = glueSource
    .replace("wasm.__wbg_core_free(", "wasm.b(")
    .replace("wasm.core_response(", "wasm.c(")
    .replace("        __wbg_set_d2d33b52458e984a:", "        a:")
    .replace("        __wbindgen_init_externref_table:", "        b:")
    .replace("wasm.__wbindgen_externrefs;", "wasm.d;")
    .replace('"./tokenkeeper_bg.js": import0', "a: import0")
    .replace('"./snippets/x-1/src/js/decode.js": import1', "b: import1")
    .replace("wasm.memory.buffer", "wasm.a.buffer")
    .replace("wasm.__wbindgen_start()", "wasm.e()");
  assert.equal(renamed, expected);
});

test("fails when the glue refers to a name in a way it does not know", () => {
  const fails = (source, pattern) => assert.throws(() => renameGlue(source, glueMapping(), parse), pattern);
  fails(glueSource.replace("wasm.core_response(", 'wasm["core_response"]('), /computed name/);
  fails(glueSource.replace("wasm.core_response(", "wasm.core_request("), /reads wasm.core_request, which the module does not export/);
  fails(glueSource.replace("    return wasm;\n}", "    const w = wasm;\n    return w;\n}"), /unknown use of `wasm`/);
  fails(glueSource.replace("wasm = instance.exports;", "wasm = instance.exports;\n    globalThis.x = instance.exports;"), /`.exports` is read elsewhere/);
  fails(glueSource.replace("return ret;\n    }\n}", 'return Reflect.get(wasm, "core_response");\n    }\n}'), /unknown use of `wasm`/);
  fails(glueSource.replace("const ret = wasm.core_response(", 'const ret = Reflect.get(globalThis.w, "core_response")('), /export "core_response" is named in a string/);
  // An import the glue lacks, one it has and the module does not, a stale mention.
  fails(glueSource.replace("__wbg_set_d2d33b52458e984a: function", "__wbg_set_0000000000000000: function"), /has the key __wbg_set_0000000000000000, which the module does not import/);
  fails(glueSource.replace("        __wbindgen_init_externref_table: function() {\n            const table = wasm.__wbindgen_externrefs;\n            table.set(0, undefined);\n        },\n", ""), /has no key __wbindgen_init_externref_table/);
  fails(glueSource.replace("/** Talks to wasm. */", "/** See __wbg_set_d2d33b52458e984a. */"), /"__wbg_set_d2d33b52458e984a" is still named/);
  fails(glueSource.replace('"./tokenkeeper_bg.js": import0', '"./other.js": import0'), /has "\.\/other\.js", which the module does not import/);
  fails(glueSource.replace('        "./snippets/x-1/src/js/decode.js": import1,\n', ""), /has no "\.\/snippets\/x-1\/src\/js\/decode\.js"/);
  fails(glueSource.replace("import * as import1", "import { decodeClaimsFast as import1 }"), /is not `import \* as import1/);
  fails(glueSource.replace("function __wbg_get_imports()", "function getImports()"), /no function __wbg_get_imports/);
});

test("renames the exports in the declarations, and fails on a member that is not one", () => {
  const declarations = `export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly core_response: (a: number, b: any) => any;
}
export interface Other {
    readonly memory: string;
}
`;
  assert.equal(
    renameTypes(declarations, glueMapping()),
    declarations.replace("readonly memory: WebAssembly", "readonly a: WebAssembly").replace("readonly core_response:", "readonly c:"),
  );
  assert.equal(renameTypes("export const memory: WebAssembly.Memory;\nexport const __wbindgen_start: () => void;\n", glueMapping()), "export const a: WebAssembly.Memory;\nexport const e: () => void;\n");
  assert.throws(() => renameTypes("export const core_request: () => void;\n", glueMapping()), /"core_request", which the module does not export/);
  assert.throws(() => renameTypes("export function f(): void;\n", glueMapping()), /name no export/);
});
