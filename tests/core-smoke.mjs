// Smoke test of the wasm `Core` class (src/js/core.rs) through the built glue, in Node >= 20:
// a login from `start` to the `complete` effect, with no I/O (the test plays the driver).
//
//   node tests/core-smoke.mjs [package dir, default pkg/]
//
// `Core` is left out of the package's .d.ts but exported by its JavaScript glue.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const dir = resolve(process.argv[2] ?? process.env.PKG_OUT ?? "pkg");
const glue = await import(pathToFileURL(`${dir}/tokenkeeper.js`).href);
glue.initSync({ module: readFileSync(`${dir}/tokenkeeper_bg.wasm`) });
const { Core, AuthError } = glue;

const b64url = (text) => Buffer.from(text).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const accessToken = [
  b64url(JSON.stringify({ alg: "HS256", typ: "JWT" })),
  b64url(JSON.stringify({ sub: "1", role: "admin", type: "access", iat: now, exp: now + 3600 })),
  b64url("not a real signature"),
].join(".");

const show = (label, effects) => console.log(label, JSON.stringify(effects, null, 1));

// Options are refused with the facade's messages, as an AuthError.
assert.throws(
  () => new Core({ baseUrl: "http://127.0.0.1:9/", refreshMargin: 1 }, "memory", null, 1),
  (error) =>
    error instanceof AuthError &&
    error.code === "config" &&
    error.message.startsWith("unknown option `refreshMargin`, expected one of"),
);
assert.throws(() => new Core(null, "memory", null, 1), (error) => error.code === "config");
assert.throws(
  () => new Core({ baseUrl: "http://127.0.0.1:9/", autoRefresh: "yes" }, "memory", null, 1),
  (error) => error.code === "config" && error.message.startsWith("option `autoRefresh`:"),
);

// JavaScript values into the core (serde-wasm-bindgen reads options as JSON values, src/platform.rs): what has a JSON
// form (BigInts within 64 bits, a Map with string keys, objects of any class) is read, an unknown
// option then being named as unknown; what has none (other iterables, an ArrayBuffer, a function,
// a symbol, a BigInt beyond 64 bits, a Map with other keys) is refused as not JSON.
const optionOutcome = (value) => {
  try {
    new Core({ baseUrl: "http://127.0.0.1:9/", x: value }, "memory", null, 1).free();
    return "accepted";
  } catch (error) {
    return error.message.startsWith("unknown option `x`") ? "read" : error.message;
  }
};
const notJson = "option `x`: expected a JSON value";
for (const value of [10n, -(2n ** 63n), 2n ** 64n - 1n, new Map([["a", [1n]]]), [new Map()], new DataView(new ArrayBuffer(1)), Object.create(null), [, 1]]) {
  assert.equal(optionOutcome(value), "read", value);
}
for (const value of [2n ** 64n, -(2n ** 63n) - 1n, new Map([[1, 2]]), new Set(), new Uint8Array(1), new Int16Array(1), new ArrayBuffer(1), new String("s"), () => 1, Symbol("s"), { [Symbol.iterator]: 1 }, { m: new Set() }]) {
  assert.equal(optionOutcome(value), notJson, value);
}
// A BigInt is read as its number, -0 as 0.
assert.equal(optionOutcome(undefined), "read");
assert.throws(() => new Core({ baseUrl: "/", leewaySeconds: 2n ** 64n - 1n }, "memory", null, 1), (error) => error.message === "leewaySeconds is too large");
assert.throws(() => new Core({ baseUrl: "/", leewaySeconds: -(2n ** 63n) }, "memory", null, 1), (error) => error.message === "leewaySeconds must not be negative");
new Core({ baseUrl: "/", leewaySeconds: -0, refreshMarginSeconds: 10n }, "memory", null, 1).free();

const core = new Core({ baseUrl: "http://127.0.0.1:9/" }, "memory", null, 1);
const settings = core.settings();
assert.equal(settings.storageKey, "tokenkeeper");
assert.deepEqual(settings.tokenStatuses, [401]);
assert.deepEqual(settings.tokenEndpoints, ["http://127.0.0.1:9/auth/login", "http://127.0.0.1:9/auth/refresh"]);
assert.equal(core.allowsOrigin("http://127.0.0.1:9", "null"), true);
assert.equal(core.allowsOrigin("http://evil.example", "null"), false);

show("start", core.start(null, null));
assert.equal(core.startWarning(), undefined);
assert.equal(core.session(), null);
assert.equal(core.readyAccessToken(), undefined);

const login = core.login(1, "alice@example.com", "pa ss&word");
show("login", login);
const send = login.find((effect) => effect.kind === "send");
assert.ok(send, "login sends a request");
assert.equal(send.method, "POST");
assert.equal(send.endpoint, "login");
assert.equal(typeof send.request, "number");
assert.equal(send.body, "username=alice%40example.com&password=pa+ss%26word");
assert.ok(
  send.headers.some(
    ([name, value]) => name === "Content-Type" && value === "application/x-www-form-urlencoded",
  ),
);

const reply = JSON.stringify({ access_token: accessToken, token_type: "bearer" });
const done = core.response(send.request, 200, "application/json", reply, null, null);
show("response", done);
const kinds = done.map((effect) => effect.kind);
assert.ok(kinds.includes("persist"), `persist in ${kinds}`);
const emit = done.find((effect) => effect.kind === "emit");
assert.equal(emit?.event, "SIGNED_IN");
assert.equal(emit.session.accessToken, accessToken);
const complete = done.find((effect) => effect.kind === "complete");
assert.equal(complete?.op, 1);
assert.equal(complete.value.claims.sub, "1");
assert.equal(complete.value.expiresAt, (now + 3600) * 1000);
assert.ok(kinds.indexOf("persist") < kinds.indexOf("emit"));
assert.ok(kinds.indexOf("emit") < kinds.indexOf("complete"));

assert.equal(core.readyAccessToken(), accessToken);
assert.equal(core.isAuthenticated(), true);
assert.equal(core.hasRole("admin"), true);
assert.equal(core.hasAnyRole(["x", "admin"]), true);
assert.equal(core.hasAllRoles(["x", "admin"]), false);
assert.throws(() => core.hasRole(1), (error) => error.code === "config");
assert.throws(() => core.hasAnyRole("admin"), (error) => error.code === "config");
assert.equal(core.diagnostics().phase, "signed_in");

// The `me` reply out of the core as plain JavaScript values (src/platform.rs): nested values as
// they were, -0 as 0, a `__proto__` key set as the prototype (as `object[key] = value` does), and
// integers beyond 2^53 as the numbers JSON.parse makes of them (they once made the reply fail).
const meReply = (body) => {
  const sent = core.me(50).find((effect) => effect.kind === "send");
  return core.response(sent.request, 200, "application/json", body, null, null).find((effect) => effect.kind === "complete");
};
assert.deepEqual(meReply('{"a":1,"b":[1,2.5,-0,null,true,"x"],"c":{"d":{}},"s":"\\u00e9"}').value, { a: 1, b: [1, 2.5, 0, null, true, "x"], c: { d: {} }, s: "\u00e9" });
assert.ok(Object.is(meReply('[-0]').value[0], 0));
const proto = meReply('{"__proto__":{"x":1},"y":2}').value;
assert.deepEqual([proto.y, proto.x, Object.keys(proto)], [2, 1, ["y"]]);
assert.equal(meReply('{"n":9007199254740991}').value.n, 9007199254740991);
assert.equal(meReply('{"n":9007199254740992}').value.n, 9007199254740992);
assert.equal(meReply("[-100000000000000000]").value[0], -100000000000000000);

// A stale or unknown request id, and odd numbers, are no panic (the module would be dead).
show("stale response", core.response(12345, 200, null, "", null, null));
show("failed", core.failed(NaN, "protocol", "too large", 200));
show("subscribe", core.subscribe(7));
show("logout", core.logout(2));
assert.equal(core.isAuthenticated(), false);

// Text arguments of the wrong type (a driver bug) neither trap nor corrupt the module: Core reads
// them as JsValues (a `&str` parameter's glue copies a number or an object into wasm memory
// unchecked, and the allocator then fails with "memory access out of bounds").
for (const bad of [undefined, null, 0, 1.5, {}, [], true]) {
  core.storageChanged(bad);
  core.storageFailed(bad);
  core.tokenRejected(9, bad);
  core.response(99, 200, bad, bad, bad, bad);
  core.failed(99, bad, bad, undefined);
  core.lockAcquired(99, bad, bad);
  core.allowsOrigin(bad, bad);
  assert.throws(() => new Core({ baseUrl: "/" }, bad, bad, 1), (error) => error.code === "config");
}
assert.equal(core.diagnostics().phase, "signed_out");
assert.deepEqual(glue.decodeClaims(accessToken).sub, "1");
core.free();
console.log("core smoke: ok");

// Options that throw while they are read (a Proxy trap or a getter deep inside) make
// `new AuthClient` throw an AuthError `config`, not the raw error.
{
  const { AuthClient } = glue;
  const hostile = new Proxy({}, { has() { throw new TypeError("trap"); }, ownKeys() { throw new TypeError("trap"); } });
  for (const options of [{ baseUrl: "/", storage: "memory", login: hostile }, { baseUrl: "/", storage: "memory", get roleClaims() { throw new Error("getter"); } }]) {
    assert.throws(() => new AuthClient(options), (error) => error instanceof AuthError && error.code === "config", "hostile options");
  }
}
console.log("core smoke: hostile options ok");
