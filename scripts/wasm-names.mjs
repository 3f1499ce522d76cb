// Renames a wasm module's imports and exports, and nothing else: every other byte is copied as it
// is. wasm-bindgen names each import `__wbg_<name>_<16 hex digits>` under the module
// "./tokenkeeper_bg.js", and the glue spells each of those names, and each export's, a second
// time as a property key, which no minifier may shorten, and the hashes do not compress. The
// package build (scripts/finish-pkg.mjs) renames both sides to one or two letters: `readNames`,
// `shortNames` and `renameWasm` for the module, `renameGlue` and `renameTypes` for the files
// wasm-bindgen wrote next to it. The glue is checked rather than trusted: any reference to an
// old name in a form this file does not know fails the build, so a new wasm-bindgen cannot make
// it ship a package whose glue and module disagree.
//
// The module side is dependency-free on purpose: binaryen's `wasm-opt
// --minify-imports-and-exports-and-modules` renames too, but as a pass that decodes and
// re-encodes the whole module, with the features it was told to assume (with `--all-features`
// it writes an import encoding Node 20 rejects), and it came out 28 B gzip larger. The glue side
// reads the glue with the parser the build already has (rolldown's, passed in).

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const SECTION_IMPORT = 2;
const SECTION_EXPORT = 7;
/** Import and export kinds: the byte before the descriptor (core spec, 5.5.5 and 5.5.10). */
export const KINDS = ["func", "table", "memory", "global", "tag"];

/**
 * Reads the function names of a module's `name` section (its "function names" subsection), as
 * the compiler wrote them: mangled Rust paths such as `_ZN4core3num7flt2dec…`. Empty when the
 * module has no such section.
 * The package's size gate reads them to check what the module contains (scripts/size-gate.mjs).
 * @param {Uint8Array} bytes the module
 * @returns {string[]}
 */
export function readFunctionNames(bytes) {
  const names = [];
  for (const section of sections(bytes)) {
    if (section.id !== 0) continue;
    const r = new Reader(bytes, section.payloadStart, section.end);
    if (r.name() !== "name") continue;
    while (r.pos < r.end) {
      const id = r.byte();
      const end = r.u32() + r.pos;
      if (end > r.end) throw new Error(`wasm-names: name subsection ${id} runs past its section`);
      if (id === 1) {
        const sub = new Reader(bytes, r.pos, end);
        for (let n = sub.u32(); n > 0; n--) {
          sub.u32(); // function index
          names.push(sub.name());
        }
        sub.assertEnd("function names");
      }
      r.pos = end;
    }
  }
  return names;
}

/**
 * Reads the import and export names of a module.
 * @param {Uint8Array} bytes the module
 * @returns {{ imports: {module: string, field: string, kind: string}[], exports: {name: string, kind: string}[] }}
 */
export function readNames(bytes) {
  const imports = [];
  const exports = [];
  for (const section of sections(bytes)) {
    const r = new Reader(bytes, section.payloadStart, section.end);
    if (section.id === SECTION_IMPORT) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const field = r.name();
        const kind = r.importDesc();
        imports.push({ module, field, kind });
      }
      r.assertEnd("import section");
    } else if (section.id === SECTION_EXPORT) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.kind();
        r.u32(); // index
        exports.push({ name, kind });
      }
      r.assertEnd("export section");
    }
  }
  return { imports, exports };
}

/**
 * Picks short names for every import and export of a module: each import module gets one
 * (`a`, `b`, …), and within each module each field, and each export, gets the next of
 * `a`…`z`, `A`…`Z`, `aa`, `ab`, … in the order the module lists them. Imports of different modules
 * and exports are separate namespaces (the glue keeps them in separate objects), so each restarts
 * at `a`.
 * @param {{ imports: {module: string, field: string}[], exports: {name: string}[] }} names from `readNames`
 * @param {{ renameFields?: (module: string) => boolean }} [options] `renameFields`: false for a
 *   module whose fields must keep their names (a JS module's own exports, imported as a namespace)
 * @returns {{ modules: Map<string, string>, fields: Map<string, Map<string, string>>, exports: Map<string, string> }}
 *   old module name -> new; old module name -> (old field -> new field); old export -> new export
 */
export function shortNames({ imports, exports }, { renameFields = () => true } = {}) {
  const modules = new Map();
  const fields = new Map();
  const moduleNames = nameGenerator();
  for (const { module, field } of imports) {
    if (!modules.has(module)) {
      modules.set(module, moduleNames.next().value);
      fields.set(module, { map: new Map(), names: nameGenerator() });
    }
    const inModule = fields.get(module);
    // A module may import the same field twice (with different types); one name serves both.
    if (!inModule.map.has(field)) inModule.map.set(field, renameFields(module) ? inModule.names.next().value : field);
  }
  const exportNames = nameGenerator();
  const exportMap = new Map();
  for (const { name } of exports) {
    if (exportMap.has(name)) throw new Error(`wasm-names: export "${name}" appears twice`);
    exportMap.set(name, exportNames.next().value);
  }
  return {
    modules,
    fields: new Map([...fields].map(([module, { map }]) => [module, map])),
    exports: exportMap,
  };
}

/**
 * Rewrites the names of a module's imports and exports; every other section is copied byte for
 * byte, and within the import and export sections every descriptor and index too. Throws if a
 * name has no entry in `mapping`, so that no import is left under a name the glue no longer has.
 * @param {Uint8Array} bytes the module
 * @param {ReturnType<typeof shortNames>} mapping
 * @returns {Uint8Array} the renamed module
 */
export function renameWasm(bytes, mapping) {
  const out = [bytes.subarray(0, 8)];
  for (const section of sections(bytes)) {
    if (section.id !== SECTION_IMPORT && section.id !== SECTION_EXPORT) {
      out.push(bytes.subarray(section.start, section.end));
      continue;
    }
    const r = new Reader(bytes, section.payloadStart, section.end);
    const payload = [];
    const count = r.u32();
    payload.push(uleb(count));
    for (let n = count; n > 0; n--) {
      if (section.id === SECTION_IMPORT) {
        const module = r.name();
        const field = r.name();
        const from = r.pos;
        r.importDesc();
        const newModule = lookup(mapping.modules, module, `import module "${module}"`);
        const newField = lookup(mapping.fields.get(module), field, `import "${module}" "${field}"`);
        payload.push(encodeName(newModule), encodeName(newField), bytes.subarray(from, r.pos));
      } else {
        const name = r.name();
        const from = r.pos;
        r.kind();
        r.u32();
        payload.push(encodeName(lookup(mapping.exports, name, `export "${name}"`)), bytes.subarray(from, r.pos));
      }
    }
    r.assertEnd(section.id === SECTION_IMPORT ? "import section" : "export section");
    const body = concat(payload);
    out.push(Uint8Array.of(section.id), uleb(body.length), body);
  }
  return concat(out);
}

/**
 * Applies `mapping` to the JS glue that wasm-bindgen (`--target web`) wrote for the module, as
 * it wrote it (before snippets are inlined or anything is minified). It works on the syntax tree,
 * so strings and comments that say "wasm" are no matter:
 * - exports: the glue keeps the instance's exports in its variable `wasm` and reads each as
 *   `wasm.<name>`, which is renamed. Any other use of `wasm` must be one of those wasm-bindgen
 *   writes (declare it, assign it `instance.exports`, compare it, return it to the caller), and
 *   `.exports` may be read only there, so no export can be read under its old name unseen;
 * - imports: `__wbg_get_imports()` returns `{ "<module>": importN, … }`; each module's key is
 *   renamed, and for a module with renamed fields `importN` must be an object literal declared in
 *   that function whose keys are exactly the module's fields, which are renamed too; a module
 *   whose fields keep their names must be `import * as importN from "<module>"`.
 * Throws if the glue differs from that in any way that matters, or if an old name is left.
 * @param {string} glue the glue's source
 * @param {ReturnType<typeof shortNames>} mapping
 * @param {(source: string) => object} parse returns the ESTree `Program` of a module, with
 *   UTF-16 `start`/`end` offsets (rolldown's `parseSync(...).program`: the build's minifier)
 * @returns {string} the renamed glue
 */
export function renameGlue(glue, mapping, parse) {
  const fail = (message, node) => {
    const where = node ? `: ${glue.slice(node.start, node.end).split("\n")[0].slice(0, 120)}` : "";
    throw new Error(`wasm-names: the glue is not as expected: ${message}${where}`);
  };
  const program = parse(glue);
  const edits = [];
  const edit = (node, text) => edits.push({ start: node.start, end: node.end, text });
  const nameOf = (key) => (key.type === "Identifier" ? key.name : key.type === "Literal" && typeof key.value === "string" ? key.value : undefined);
  const oldExports = new Set(mapping.exports.keys());

  // Exports, and the imports object's function, in one walk.
  let getImports;
  let exportsReads = 0;
  walk(program, null, (node, parent) => {
    if (node.type === "Identifier" && glue.slice(node.start, node.end) !== node.name) {
      fail(`the parser's offsets do not match the source (${node.name} at ${node.start})`);
    }
    if (node.type === "FunctionDeclaration" && node.id?.name === "__wbg_get_imports") getImports = node;
    if (node.type === "MemberExpression" && nameOf(node.property) === "exports" && !node.computed) {
      exportsReads++;
      const assigned = parent?.type === "AssignmentExpression" && parent.right === node && parent.left.type === "Identifier" && parent.left.name === "wasm";
      if (!assigned) fail("`.exports` is read elsewhere than in `wasm = instance.exports`", parent ?? node);
    }
    if (node.type === "Literal" && typeof node.value === "string" && oldExports.has(node.value)) {
      // An export named in a string (`wasm["core_new"]`, `Reflect.get(wasm, "core_new")`).
      if (!(parent?.type === "Property" && parent.key === node)) fail(`export "${node.value}" is named in a string`, parent ?? node);
    }
    if (node.type !== "Identifier" || node.name !== "wasm") return;
    // `x.wasm` and `{ wasm: … }` are not the variable.
    if (parent?.type === "MemberExpression" && parent.property === node && !parent.computed) return;
    if (parent?.type === "Property" && parent.key === node && !parent.computed && !parent.shorthand) return;
    if (parent?.type === "MemberExpression" && parent.object === node) {
      if (parent.computed) fail("`wasm[…]`: an export read by a computed name", parent);
      const renamed = mapping.exports.get(parent.property.name);
      if (renamed === undefined) fail(`it reads wasm.${parent.property.name}, which the module does not export`, parent);
      edit(parent.property, renamed);
      return;
    }
    const known =
      (parent?.type === "VariableDeclarator" && parent.id === node && parent.init === null) ||
      (parent?.type === "AssignmentExpression" && parent.left === node && parent.operator === "=" &&
        parent.right.type === "MemberExpression" && nameOf(parent.right.property) === "exports") ||
      (parent?.type === "ReturnStatement" && parent.argument === node) ||
      (parent?.type === "BinaryExpression" && /^[!=]==$/.test(parent.operator) &&
        [parent.left, parent.right].some((side) => side.type === "Identifier" && side.name === "undefined"));
    if (!known) fail("an unknown use of `wasm`", parent ?? node);
  });
  if (exportsReads !== 1) fail(`\`.exports\` is read ${exportsReads} times, expected once (wasm = instance.exports)`);

  // Imports.
  if (!getImports) fail("no function __wbg_get_imports");
  const statements = getImports.body.body;
  const returned = statements.at(-1);
  if (returned?.type !== "ReturnStatement" || returned.argument?.type !== "ObjectExpression") {
    fail("__wbg_get_imports does not end in `return { … }`", returned);
  }
  const locals = new Map();
  for (const statement of statements) {
    if (statement.type !== "VariableDeclaration") continue;
    for (const declarator of statement.declarations) {
      if (declarator.id.type === "Identifier") locals.set(declarator.id.name, declarator.init);
    }
  }
  const seen = new Set();
  for (const property of returned.argument.properties) {
    const module = property.type === "Property" && !property.computed ? nameOf(property.key) : undefined;
    if (module === "__proto__") continue;
    if (module === undefined || property.value.type !== "Identifier") fail("an unknown entry in the imports object", property);
    if (!mapping.modules.has(module)) fail(`the imports object has "${module}", which the module does not import`, property);
    if (seen.has(module)) fail(`the imports object has "${module}" twice`, property);
    seen.add(module);
    edit(property.key, mapping.modules.get(module));
    const ident = property.value.name;
    const fields = mapping.fields.get(module);
    if ([...fields].every(([old, renamed]) => old === renamed)) {
      // The module's own names (a JS snippet imported as a namespace): nothing to rename here.
      const imported = program.body.some(
        (s) => s.type === "ImportDeclaration" && s.source.value === module &&
          s.specifiers.some((spec) => spec.type === "ImportNamespaceSpecifier" && spec.local.name === ident),
      );
      if (!imported) fail(`"${module}" is not \`import * as ${ident} from "${module}"\``, property);
      continue;
    }
    const object = locals.get(ident);
    if (object?.type !== "ObjectExpression") fail(`"${module}" is not an object literal declared in __wbg_get_imports`, property);
    const keys = new Set();
    for (const entry of object.properties) {
      const key = entry.type === "Property" && !entry.computed ? nameOf(entry.key) : undefined;
      if (key === "__proto__") continue;
      if (key === undefined || entry.shorthand) fail(`an unknown entry in ${ident}`, entry);
      if (keys.has(key)) fail(`${ident} has the key ${key} twice`, entry);
      keys.add(key);
      const renamed = fields.get(key);
      if (renamed === undefined) fail(`${ident} has the key ${key}, which the module does not import from "${module}"`, entry);
      edit(entry.key, renamed);
    }
    for (const field of fields.keys()) if (!keys.has(field)) fail(`${ident} has no key ${field} (imported from "${module}")`);
  }
  for (const module of mapping.modules.keys()) if (!seen.has(module)) fail(`the imports object has no "${module}"`);

  edits.sort((x, y) => y.start - x.start);
  for (let i = 1; i < edits.length; i++) if (edits[i].end > edits[i - 1].start) fail("two renames overlap");
  for (const { start, end, text } of edits) glue = glue.slice(0, start) + text + glue.slice(end);

  // The hashed import names are unique: none may be left, in code, strings or comments.
  for (const [module, fields] of mapping.fields) {
    for (const [old, renamed] of fields) {
      if (old === renamed) continue;
      const at = new RegExp(`(?<![\\w$])${escapeRegExp(old)}(?![\\w$])`).exec(glue)?.index;
      if (at !== undefined) fail(`import "${module}" "${old}" is still named at offset ${at}`);
    }
  }
  return glue;
}

/** Calls `visit(node, parent)` for every ESTree node under `node`, parents first. */
function walk(node, parent, visit) {
  visit(node, parent);
  for (const key in node) {
    const value = node[key];
    if (Array.isArray(value)) {
      for (const child of value) if (child && typeof child.type === "string") walk(child, node, visit);
    } else if (value && typeof value === "object" && typeof value.type === "string") {
      walk(value, node, visit);
    }
  }
}

/**
 * Applies the export names of `mapping` to a TypeScript declaration file that wasm-bindgen wrote:
 * `export interface InitOutput { readonly <export>: … }` in `tokenkeeper.d.ts` (what `init()`
 * resolves to: the instance's exports) and `export const <export>: …` in `*_bg.wasm.d.ts`.
 * Throws if a member is not an export, or if the file has neither form.
 * @param {string} source the declarations
 * @param {ReturnType<typeof shortNames>} mapping
 * @returns {string} the renamed declarations
 */
export function renameTypes(source, mapping) {
  let found = 0;
  const rename = (prefix) => (match, indent, name) => {
    found++;
    const renamed = mapping.exports.get(name);
    if (renamed === undefined) throw new Error(`wasm-names: the declarations name "${name}", which the module does not export`);
    return `${indent}${prefix}${renamed}:`;
  };
  source = source.replace(/^export interface InitOutput \{\n[\s\S]*?\n\}\n/m, (block) =>
    block.replace(/^(\s+)readonly ([A-Za-z_$][\w$]*):/gm, rename("readonly ")),
  );
  source = source.replace(/^()export const ([A-Za-z_$][\w$]*):/gm, rename("export const "));
  if (found === 0) throw new Error("wasm-names: the declarations name no export (no InitOutput, no `export const`)");
  return source;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Names usable unquoted as JS property keys: `a`…`z`, `A`…`Z`, then two letters, and so on. */
function* nameGenerator() {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  // Keywords are valid property names, but a reader (or an old tool) may trip on them.
  const avoid = new Set(["do", "if", "in"]);
  for (let length = 1; ; length++) {
    const digits = new Array(length).fill(0);
    for (;;) {
      const name = digits.map((d) => letters[d]).join("");
      if (!avoid.has(name)) yield name;
      let i = length - 1;
      while (i >= 0 && ++digits[i] === letters.length) digits[i--] = 0;
      if (i < 0) break;
    }
  }
}

function lookup(map, key, what) {
  const value = map?.get(key);
  if (value === undefined) throw new Error(`wasm-names: no new name for ${what}`);
  return value;
}

/** The module's sections, each with its id and byte range (header included) and payload start. */
function sections(bytes) {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error("wasm-names: not a wasm module");
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new Error(`wasm-names: unsupported wasm binary version ${bytes.subarray(4, 8).join(",")}`);
  }
  const list = [];
  const r = new Reader(bytes, 8, bytes.length);
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const payloadStart = r.pos;
    const end = payloadStart + size;
    if (end > bytes.length) throw new Error(`wasm-names: section ${id} at ${start} runs past the end`);
    list.push({ id, start, payloadStart, end });
    r.pos = end;
  }
  return list;
}

class Reader {
  constructor(bytes, pos, end) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  byte() {
    if (this.pos >= this.end) throw new Error(`wasm-names: unexpected end at byte ${this.pos}`);
    return this.bytes[this.pos++];
  }

  /** An unsigned LEB128 number of up to 32 bits (counts, sizes, indices). */
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift === 28 && b > 0x0f) throw new Error(`wasm-names: LEB128 u32 too long at byte ${this.pos - 1}`);
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  }

  /** Skips a LEB128 number of any width and sign (u64 limits, s33 heap types). */
  skipLeb() {
    for (let n = 0; n < 10; n++) if ((this.byte() & 0x80) === 0) return;
    throw new Error(`wasm-names: LEB128 number too long at byte ${this.pos}`);
  }

  name() {
    const length = this.u32();
    if (this.pos + length > this.end) throw new Error(`wasm-names: name runs past its section at byte ${this.pos}`);
    const text = new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }

  kind() {
    const kind = KINDS[this.byte()];
    if (kind === undefined) {
      const byte = this.bytes[this.pos - 1];
      // 0x7e and 0x7f after an empty field name group imports (the compact import section
      // proposal): not read here, and never misread.
      const compact = byte === 0x7e || byte === 0x7f ? " (compact import encoding, not supported)" : "";
      throw new Error(`wasm-names: unknown import/export kind ${byte}${compact}`);
    }
    return kind;
  }

  /** Skips an import descriptor and returns its kind. */
  importDesc() {
    const kind = this.kind();
    switch (kind) {
      case "func":
        this.u32(); // type index
        break;
      case "table":
        this.refType();
        this.limits();
        break;
      case "memory":
        this.limits();
        break;
      case "global":
        this.valType();
        if (this.byte() > 1) throw new Error(`wasm-names: bad global mutability at byte ${this.pos - 1}`);
        break;
      case "tag":
        if (this.byte() !== 0) throw new Error(`wasm-names: unknown tag attribute at byte ${this.pos - 1}`);
        this.u32(); // type index
        break;
    }
    return kind;
  }

  /** Limits: flags (bit 0 max, bit 1 shared, bit 2 64-bit, bit 3 custom page size), min, [max], [page size]. */
  limits() {
    const flags = this.byte();
    if (flags > 0x0f) throw new Error(`wasm-names: unknown limits flags ${flags}`);
    this.skipLeb();
    if (flags & 1) this.skipLeb();
    if (flags & 8) this.skipLeb();
  }

  valType() {
    const t = this.byte();
    if (t >= 0x7b && t <= 0x7f) return; // i32 i64 f32 f64 v128
    this.pos--;
    this.refType();
  }

  refType() {
    const t = this.byte();
    // (ref ht) and (ref null ht): a heap type follows, as a signed LEB128 (s33).
    if (t === 0x63 || t === 0x64) return this.skipLeb();
    // Abbreviated reference types (funcref 0x70, externref 0x6f, anyref 0x6e, … down to 0x65),
    // and the exception proposal's exnref (0x69) and the shared-everything prefix are all one byte.
    if (t >= 0x65 && t <= 0x74) return;
    throw new Error(`wasm-names: unknown reference type 0x${t.toString(16)} at byte ${this.pos - 1}`);
  }

  assertEnd(what) {
    if (this.pos !== this.end) throw new Error(`wasm-names: ${what} has ${this.end - this.pos} bytes left over`);
  }
}

function uleb(value) {
  const out = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return Uint8Array.from(out);
}

function encodeName(text) {
  const utf8 = new TextEncoder().encode(text);
  return concat([uleb(utf8.length), utf8]);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
