// Raw-HTTP checks of the real Python auth backends (no SDK): what each library answers, status and
// body, for the flows tokenkeeper has to handle. The README's error table is this file's assertions.
// Run: scripts/backends-venv.sh && node --test tests/backends/
//
// Six servers start in parallel before the tests: each backend twice, once with the default
// lifetimes (300 s access, 3600 s refresh) for the flows, and once with short ones (2 s access, 3 s
// refresh) for expiry. The short servers get their logins at start, so by the time the expiry tests
// run (last) the wait is mostly over.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { startBackend, users } from "./backends.mjs";

const SHORT = { accessTtl: 2, refreshTtl: 3 };
const ALLOWED_ORIGIN = "http://localhost:5173";
const OTHER_ORIGIN = "http://127.0.0.1:4000";
const FOREIGN_ORIGIN = "http://evil.example";

const servers = {};
const expiring = {}; // per backend: tokens from the short-lived server, got at start

before(async () => {
  const names = ["simplejwt", "flask_jwt_extended", "fastapi_users"];
  const started = await Promise.allSettled(
    names.flatMap((name) => [
      startBackend(name).then((b) => (servers[name] = b)),
      startBackend(name, SHORT).then(async (b) => {
        servers[`${name}:short`] = b;
        expiring[name] = tokensOf(name, await login(b, users.alice));
      }),
    ]),
  );
  const failed = started.filter((r) => r.status === "rejected");
  if (failed.length) throw new AggregateError(failed.map((r) => r.reason), "backends did not start");
});

after(async () => {
  await Promise.all(Object.values(servers).map((b) => b.stop()));
});

// --- helpers ---------------------------------------------------------------------------------

/** One request; the reply's status, headers, raw text and parsed JSON (or undefined). */
async function call(backend, method, path, { token, authorization, json, form, headers = {} } = {}) {
  const h = { ...headers };
  let body;
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (authorization !== undefined) h.authorization = authorization;
  if (json !== undefined) {
    h["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (form !== undefined) body = new URLSearchParams(form); // fetch sets the form content type
  const response = await fetch(backend.baseUrl + path, { method, headers: h, body });
  const text = await response.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: parsed };
}

/** Logs in with the backend's own body encoding (JSON, or a form for fastapi-users). */
function login(backend, credentials) {
  const body = backend.loginEncoding === "form" ? { form: credentials } : { json: credentials };
  return call(backend, "POST", backend.paths.login, body);
}

/** `{ access, refresh }` from a successful login reply, whatever the library names them. */
function tokensOf(name, reply) {
  assert.equal(reply.status, 200, `login failed: ${reply.status} ${reply.text}`);
  if (name === "simplejwt") return { access: reply.json.access, refresh: reply.json.refresh };
  return { access: reply.json.access_token, refresh: reply.json.refresh_token ?? null };
}

function decodePart(token, index) {
  return JSON.parse(Buffer.from(token.split(".")[index], "base64url").toString("utf8"));
}
const claims = (token) => decodePart(token, 1);

/** The same header and claims, signed with a key the server does not have. */
function forged(token) {
  const [header, payload] = token.split(".");
  const signature = createHmac("sha256", "not-the-server-key-not-the-server-key")
    .update(`${header}.${payload}`)
    .digest("base64url");
  return `${header}.${payload}.${signature}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const venvPython = fileURLToPath(new URL("../../target/backends-venv/bin/python", import.meta.url));
const userTable = {
  simplejwt: "UPDATE auth_user SET is_active = ? WHERE username = ?",
  flask_jwt_extended: "UPDATE user SET is_active = ? WHERE username = ?",
  fastapi_users: "UPDATE user SET is_active = ? WHERE email = ?",
};

/** Flips a user's active flag in the backend's database, behind the server's back. */
function setActive(backend, email, active) {
  const script = "import sqlite3, sys\n" +
    "db = sqlite3.connect(sys.argv[1])\n" +
    "n = db.execute(sys.argv[2], (int(sys.argv[3]), sys.argv[4])).rowcount\n" +
    "db.commit()\n" +
    "assert n == 1, n\n";
  execFileSync(venvPython, ["-c", script, backend.database, userTable[backend.name], active ? "1" : "0", email]);
}

/**
 * Runs `check` with alice deactivated after she logged in (her tokens are still unexpired), and
 * reactivates her afterwards whatever happens: the other tests use her too.
 */
async function whileDeactivated(backend, check) {
  const tokens = tokensOf(backend.name, await login(backend, users.alice));
  setActive(backend, users.alice.username, false);
  try {
    await check(tokens);
  } finally {
    setActive(backend, users.alice.username, true);
  }
}

/** Waits until `exp` (seconds) has passed by half a second: the server compares with its clock. */
async function waitPast(exp) {
  const ms = exp * 1000 + 500 - Date.now();
  if (ms > 0) await sleep(ms);
}

/** Writes the observed reply into the test output, so a run shows what the table is made of. */
function record(t, label, reply) {
  t.diagnostic(`${label}: ${reply.status} ${reply.text.trimEnd() || "(empty body)"}`);
}

/** The CORS checks, the same for every backend: loopback origins with credentials, Date exposed. */
function corsTests(name, method) {
  it("CORS: preflight from a loopback origin allows it with credentials and Authorization", async () => {
    const b = servers[name];
    for (const origin of [ALLOWED_ORIGIN, OTHER_ORIGIN]) {
      const reply = await call(b, "OPTIONS", b.paths.me, {
        headers: {
          origin,
          "access-control-request-method": method,
          "access-control-request-headers": "authorization,content-type",
        },
      });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.headers.get("access-control-allow-origin"), origin);
      assert.equal(reply.headers.get("access-control-allow-credentials"), "true");
      const allowed = reply.headers.get("access-control-allow-headers").toLowerCase();
      assert.match(allowed, /authorization/);
      assert.match(allowed, /content-type/);
    }
  });

  it("CORS: a foreign origin gets no Access-Control-Allow-Origin", async () => {
    const b = servers[name];
    const reply = await call(b, "OPTIONS", b.paths.me, {
      headers: { origin: FOREIGN_ORIGIN, "access-control-request-method": "GET" },
    });
    assert.equal(reply.headers.get("access-control-allow-origin"), null);
  });

  it("CORS: cross-origin replies, errors included, expose Date (for the SDK's clock-skew estimate)", async () => {
    const b = servers[name];
    const { access } = tokensOf(name, await login(b, users.alice));
    const reply = await call(b, "GET", b.paths.me, { token: access, headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.match(reply.headers.get("access-control-expose-headers"), /\bdate\b/i);
    assert.ok(!Number.isNaN(Date.parse(reply.headers.get("date"))), "a Date header");
    // Error replies carry the CORS headers too, so that a page can read their status and body.
    const denied = await call(b, "GET", b.paths.me, { headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.match(denied.headers.get("access-control-expose-headers"), /\bdate\b/i);
  });
}

/** Logins every library refuses, each in its own words (the tests below say which). */
const BAD_LOGINS = [
  ["wrong password", { ...users.alice, password: "wrong" }],
  ["inactive user", users.inactive],
  ["unknown user", { username: "nobody@example.com", password: "correct-horse" }],
];

// --- djangorestframework-simplejwt ---------------------------------------------------------------

describe("simplejwt (Django REST framework)", () => {
  const name = "simplejwt";
  const b = () => servers[name];
  const invalidAccess = (message) => ({
    detail: "Given token not valid for any token type",
    code: "token_not_valid",
    messages: [{ token_class: "AccessToken", token_type: "access", message }],
  });

  it("login: JSON {username, password} -> 200 {refresh, access}, no expires_in", async () => {
    const reply = await login(b(), users.alice);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), ["access", "refresh"]);
    const access = claims(reply.json.access);
    const refresh = claims(reply.json.refresh);
    assert.deepEqual(decodePart(reply.json.access, 0), { alg: "HS256", typ: "JWT" });
    assert.deepEqual(Object.keys(access).sort(), ["exp", "iat", "jti", "token_type", "user_id"]);
    assert.equal(access.token_type, "access");
    assert.equal(access.user_id, "1"); // a string in 5.5
    // The access token's `exp` counts from the refresh token's creation time and its `iat` from
    // its own (simplejwt's `RefreshToken.access_token`): a second boundary between the two makes
    // the difference one less.
    assert.ok([299, 300].includes(access.exp - access.iat), `${access.exp - access.iat}`);
    assert.deepEqual(Object.keys(refresh).sort(), ["exp", "iat", "jti", "token_type", "user_id"]);
    assert.equal(refresh.token_type, "refresh");
    assert.equal(refresh.exp - refresh.iat, 3600);
  });

  it("login: wrong password and inactive user -> the same 401 no_active_account", async (t) => {
    for (const [label, credentials] of BAD_LOGINS) {
      const reply = await login(b(), credentials);
      record(t, label, reply);
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.json, { detail: "No active account found with the given credentials" });
      assert.equal(reply.headers.get("www-authenticate"), 'Bearer realm="api"');
    }
  });

  it("me: the access token in Authorization: Bearer -> 200 the user", async () => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const reply = await call(b(), "GET", b().paths.me, { token: access });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, { id: 1, username: "alice@example.com", email: "alice@example.com" });
  });

  it("refresh: JSON {refresh} -> 200 {access, refresh} (rotated); the old refresh token is refused", async (t) => {
    const first = tokensOf(name, await login(b(), users.alice));
    const reply = await call(b(), "POST", b().paths.refresh, { json: { refresh: first.refresh } });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), ["access", "refresh"]);
    assert.notEqual(reply.json.refresh, first.refresh);
    assert.equal(claims(reply.json.access).token_type, "access");
    assert.equal((await call(b(), "GET", b().paths.me, { token: reply.json.access })).status, 200);

    const old = await call(b(), "POST", b().paths.refresh, { json: { refresh: first.refresh } });
    record(t, "rotated-out refresh token", old);
    assert.equal(old.status, 401);
    assert.deepEqual(old.json, { detail: "Token is blacklisted", code: "token_not_valid" });

    const again = await call(b(), "POST", b().paths.refresh, { json: { refresh: reply.json.refresh } });
    assert.equal(again.status, 200, "the new refresh token works");
  });

  it("blacklist: JSON {refresh} -> 200 {}; the refresh token is then refused, the access token is not", async (t) => {
    const { access, refresh } = tokensOf(name, await login(b(), users.alice));
    const out = await call(b(), "POST", b().paths.logout, { json: { refresh } });
    record(t, "blacklist", out);
    assert.equal(out.status, 200);
    assert.deepEqual(out.json, {});

    const refused = await call(b(), "POST", b().paths.refresh, { json: { refresh } });
    record(t, "refresh with a blacklisted token", refused);
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json, { detail: "Token is blacklisted", code: "token_not_valid" });

    const twice = await call(b(), "POST", b().paths.logout, { json: { refresh } });
    record(t, "blacklist again", twice);
    assert.equal(twice.status, 401);
    assert.deepEqual(twice.json, { detail: "Token is blacklisted", code: "token_not_valid" });

    // Access tokens are never blacklisted: it stays valid until it expires.
    const me = await call(b(), "GET", b().paths.me, { token: access });
    assert.equal(me.status, 200);
  });

  it("blacklist: missing field -> 400, an access token -> 401 wrong type", async (t) => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const empty = await call(b(), "POST", b().paths.logout, { json: {} });
    record(t, "blacklist without refresh", empty);
    assert.equal(empty.status, 400);
    assert.deepEqual(empty.json, { refresh: ["This field is required."] });
    const wrong = await call(b(), "POST", b().paths.logout, { json: { refresh: access } });
    record(t, "blacklist an access token", wrong);
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, { detail: "Token has wrong type", code: "token_not_valid" });
  });

  it("wrong token type: refresh with the access token, me with the refresh token -> 401", async (t) => {
    const { access, refresh } = tokensOf(name, await login(b(), users.alice));
    const r = await call(b(), "POST", b().paths.refresh, { json: { refresh: access } });
    record(t, "refresh with an access token", r);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { detail: "Token has wrong type", code: "token_not_valid" });
    const m = await call(b(), "GET", b().paths.me, { token: refresh });
    record(t, "me with a refresh token", m);
    assert.equal(m.status, 401);
    assert.deepEqual(m.json, invalidAccess("Token has wrong type"));
  });

  it("malformed, forged, missing token and a bare 'Bearer' -> 401", async (t) => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const me = b().paths.me;
    const cases = [
      ["malformed token", { token: "not-a-jwt" }, invalidAccess("Token is invalid")],
      ["bad signature", { token: forged(access) }, invalidAccess("Token is invalid")],
      ["missing Authorization", {}, { detail: "Authentication credentials were not provided." }],
      [
        "Authorization: Bearer (no token)",
        { authorization: "Bearer" },
        { detail: "Authorization header must contain two space-delimited values", code: "bad_authorization_header" },
      ],
    ];
    for (const [label, options, body] of cases) {
      const reply = await call(b(), "GET", me, options);
      record(t, label, reply);
      assert.equal(reply.status, 401, label);
      assert.deepEqual(reply.json, body, label);
      assert.equal(reply.headers.get("www-authenticate"), 'Bearer realm="api"', label);
    }
    const refresh = await call(b(), "POST", b().paths.refresh, { json: { refresh: "not-a-jwt" } });
    record(t, "refresh with a malformed token", refresh);
    assert.equal(refresh.status, 401);
    assert.deepEqual(refresh.json, { detail: "Token is invalid", code: "token_not_valid" });
  });

  it("user deactivated after login: me -> 401 user_inactive, refresh -> 401 without a code", async (t) => {
    await whileDeactivated(b(), async ({ access, refresh }) => {
      const me = await call(b(), "GET", b().paths.me, { token: access });
      record(t, "me, user deactivated since login", me);
      assert.equal(me.status, 401);
      assert.deepEqual(me.json, { detail: "User is inactive", code: "user_inactive" });
      const r = await call(b(), "POST", b().paths.refresh, { json: { refresh } });
      record(t, "refresh, user deactivated since login", r);
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { detail: "No active account found for the given token." }); // no "code"
    });
  });

  it("login also takes a form-encoded body (DRF's default parsers)", async () => {
    const reply = await call(b(), "POST", b().paths.login, { form: users.alice });
    assert.equal(reply.status, 200);
  });

  corsTests(name, "POST");
});

// --- flask-jwt-extended --------------------------------------------------------------------------

describe("flask-jwt-extended", () => {
  const name = "flask_jwt_extended";
  const b = () => servers[name];

  it("login: JSON {username, password} -> 200 {access_token, refresh_token}, no expires_in", async () => {
    const reply = await login(b(), users.alice);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), ["access_token", "refresh_token"]);
    const access = claims(reply.json.access_token);
    const refresh = claims(reply.json.refresh_token);
    assert.deepEqual(decodePart(reply.json.access_token, 0), { alg: "HS256", typ: "JWT" });
    const keys = ["csrf", "exp", "fresh", "iat", "jti", "nbf", "sub", "type"];
    assert.deepEqual(Object.keys(access).sort(), keys);
    assert.deepEqual(Object.keys(refresh).sort(), keys);
    assert.equal(access.type, "access");
    assert.equal(refresh.type, "refresh");
    assert.equal(access.sub, "1");
    assert.equal(access.fresh, false);
    assert.equal(access.exp - access.iat, 300);
    assert.equal(refresh.exp - refresh.iat, 3600);
  });

  it("login: wrong password and inactive user -> the same 401 {msg}", async (t) => {
    for (const [label, credentials] of BAD_LOGINS) {
      const reply = await login(b(), credentials);
      record(t, label, reply);
      assert.equal(reply.status, 401);
      assert.deepEqual(reply.json, { msg: "Bad username or password" });
      assert.equal(reply.headers.get("www-authenticate"), null);
    }
  });

  it("me: the access token in Authorization: Bearer -> 200 the user", async () => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const reply = await call(b(), "GET", b().paths.me, { token: access });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, { id: 1, username: "alice@example.com" });
  });

  it("refresh: the refresh token in Authorization: Bearer -> 200 {access_token} only, no rotation", async () => {
    const { refresh } = tokensOf(name, await login(b(), users.alice));
    const reply = await call(b(), "POST", b().paths.refresh, { token: refresh });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json), ["access_token"]);
    assert.equal(claims(reply.json.access_token).type, "access");
    assert.equal((await call(b(), "GET", b().paths.me, { token: reply.json.access_token })).status, 200);
    const again = await call(b(), "POST", b().paths.refresh, { token: refresh });
    assert.equal(again.status, 200, "the same refresh token keeps working");
  });

  it("logout: DELETE once per token; each revoked token is then refused with 401", async (t) => {
    const { access, refresh } = tokensOf(name, await login(b(), users.alice));
    const outAccess = await call(b(), "DELETE", b().paths.logout, { token: access });
    record(t, "logout with the access token", outAccess);
    assert.equal(outAccess.status, 200);
    assert.deepEqual(outAccess.json, { msg: "Access token successfully revoked" });

    const me = await call(b(), "GET", b().paths.me, { token: access });
    record(t, "me with the revoked access token", me);
    assert.equal(me.status, 401);
    assert.deepEqual(me.json, { msg: "Token has been revoked" });

    // The first call does not touch the refresh token: it still refreshes until revoked itself.
    assert.equal((await call(b(), "POST", b().paths.refresh, { token: refresh })).status, 200);

    const outRefresh = await call(b(), "DELETE", b().paths.logout, { token: refresh });
    record(t, "logout with the refresh token", outRefresh);
    assert.equal(outRefresh.status, 200);
    assert.deepEqual(outRefresh.json, { msg: "Refresh token successfully revoked" });

    const refused = await call(b(), "POST", b().paths.refresh, { token: refresh });
    record(t, "refresh with the revoked refresh token", refused);
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.json, { msg: "Token has been revoked" });

    const twice = await call(b(), "DELETE", b().paths.logout, { token: refresh });
    record(t, "logout again with the revoked token", twice);
    assert.equal(twice.status, 401);
    assert.deepEqual(twice.json, { msg: "Token has been revoked" });
  });

  it("wrong token type: refresh with the access token, me with the refresh token -> 422", async (t) => {
    const { access, refresh } = tokensOf(name, await login(b(), users.alice));
    const r = await call(b(), "POST", b().paths.refresh, { token: access });
    record(t, "refresh with an access token", r);
    assert.equal(r.status, 422);
    assert.deepEqual(r.json, { msg: "Only refresh tokens are allowed" });
    const m = await call(b(), "GET", b().paths.me, { token: refresh });
    record(t, "me with a refresh token", m);
    assert.equal(m.status, 422);
    assert.deepEqual(m.json, { msg: "Only non-refresh tokens are allowed" });
  });

  it("malformed, forged token and a bare 'Bearer' -> 422; missing token -> 401", async (t) => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const me = b().paths.me;
    const cases = [
      ["malformed token", { token: "not-a-jwt" }, 422, { msg: "Not enough segments" }],
      ["bad signature", { token: forged(access) }, 422, { msg: "Signature verification failed" }],
      ["missing Authorization", {}, 401, { msg: "Missing Authorization Header" }],
      [
        "Authorization: Bearer (no token)",
        { authorization: "Bearer" },
        422,
        { msg: "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'" },
      ],
    ];
    for (const [label, options, status, body] of cases) {
      const reply = await call(b(), "GET", me, options);
      record(t, label, reply);
      assert.equal(reply.status, status, label);
      assert.deepEqual(reply.json, body, label);
    }
    const refresh = await call(b(), "POST", b().paths.refresh, {});
    record(t, "refresh without a token", refresh);
    assert.equal(refresh.status, 401);
    assert.deepEqual(refresh.json, { msg: "Missing Authorization Header" });
  });

  it("user deactivated after login: me and refresh -> 401 'Error loading the user' (user_lookup_loader)", async (t) => {
    await whileDeactivated(b(), async ({ access, refresh }) => {
      const me = await call(b(), "GET", b().paths.me, { token: access });
      record(t, "me, user deactivated since login", me);
      assert.equal(me.status, 401);
      assert.deepEqual(me.json, { msg: "Error loading the user 1" });
      const r = await call(b(), "POST", b().paths.refresh, { token: refresh });
      record(t, "refresh, user deactivated since login", r);
      assert.equal(r.status, 401);
      assert.deepEqual(r.json, { msg: "Error loading the user 1" });
    });
  });

  it("login wants JSON: a form body -> 415 (Flask's HTML error page)", async () => {
    const reply = await call(b(), "POST", b().paths.login, { form: users.alice });
    assert.equal(reply.status, 415);
    assert.match(reply.headers.get("content-type"), /^text\/html/);
  });

  corsTests(name, "DELETE");
});

// --- fastapi-users -------------------------------------------------------------------------------

describe("fastapi-users (JWT strategy, bearer transport)", () => {
  const name = "fastapi_users";
  const b = () => servers[name];

  it("login: form username/password -> 200 {access_token, token_type}, no expires_in, no iat", async () => {
    const reply = await login(b(), users.alice);
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(Object.keys(reply.json).sort(), ["access_token", "token_type"]);
    assert.equal(reply.json.token_type, "bearer");
    const access = claims(reply.json.access_token);
    assert.deepEqual(decodePart(reply.json.access_token, 0), { alg: "HS256", typ: "JWT" });
    assert.deepEqual(Object.keys(access).sort(), ["aud", "exp", "sub"]);
    assert.deepEqual(access.aud, ["fastapi-users:auth"]);
    assert.match(access.sub, /^[0-9a-f-]{36}$/);
  });

  it("login: wrong password and inactive user -> the same 400 LOGIN_BAD_CREDENTIALS", async (t) => {
    for (const [label, credentials] of BAD_LOGINS) {
      const reply = await login(b(), credentials);
      record(t, label, reply);
      assert.equal(reply.status, 400);
      assert.deepEqual(reply.json, { detail: "LOGIN_BAD_CREDENTIALS" });
    }
  });

  it("me: the access token in Authorization: Bearer -> 200 the user", async () => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const reply = await call(b(), "GET", b().paths.me, { token: access });
    assert.equal(reply.status, 200);
    assert.deepEqual(Object.keys(reply.json).sort(), ["email", "id", "is_active", "is_superuser", "is_verified"]);
    assert.equal(reply.json.email, "alice@example.com");
    assert.equal(reply.json.id, claims(access).sub);
    assert.equal(reply.json.is_active, true);
  });

  it("no refresh: the library has no refresh endpoint", async () => {
    assert.equal(b().paths.refresh, null);
    const reply = await call(b(), "POST", "/auth/jwt/refresh", {});
    assert.equal(reply.status, 404);
    assert.deepEqual(reply.json, { detail: "Not Found" });
  });

  it("logout: 204 with an empty body; the JWT stays valid until it expires", async (t) => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    const out = await call(b(), "POST", b().paths.logout, { token: access });
    record(t, "logout", out);
    assert.equal(out.status, 204);
    assert.equal(out.text, "");
    // "On logout, this strategy won't do anything" (the docs): the token still works.
    const me = await call(b(), "GET", b().paths.me, { token: access });
    assert.equal(me.status, 200);
    const without = await call(b(), "POST", b().paths.logout, {});
    record(t, "logout without a token", without);
    assert.equal(without.status, 401);
    assert.deepEqual(without.json, { detail: "Unauthorized" });
  });

  it("malformed, forged, missing token and a bare 'Bearer' -> 401 Unauthorized, no WWW-Authenticate", async (t) => {
    const { access } = tokensOf(name, await login(b(), users.alice));
    for (const [label, options] of [
      ["malformed token", { token: "not-a-jwt" }],
      ["bad signature", { token: forged(access) }],
      ["missing Authorization", {}],
      ["Authorization: Bearer (no token)", { authorization: "Bearer" }],
    ]) {
      const reply = await call(b(), "GET", b().paths.me, options);
      record(t, label, reply);
      assert.equal(reply.status, 401, label);
      assert.deepEqual(reply.json, { detail: "Unauthorized" }, label);
      assert.equal(reply.headers.get("www-authenticate"), null, label);
    }
  });

  it("user deactivated after login: me -> 401 Unauthorized", async (t) => {
    await whileDeactivated(b(), async ({ access }) => {
      const me = await call(b(), "GET", b().paths.me, { token: access });
      record(t, "me, user deactivated since login", me);
      assert.equal(me.status, 401);
      assert.deepEqual(me.json, { detail: "Unauthorized" });
    });
  });

  it("login wants a form: a JSON body -> 422 validation error", async () => {
    const reply = await call(b(), "POST", b().paths.login, { json: users.alice });
    assert.equal(reply.status, 422);
    assert.deepEqual(
      reply.json.detail.map((d) => d.loc.join(".")),
      ["body.username", "body.password"],
    );
  });

  corsTests(name, "POST");
});

// --- expiry (short-lived servers; tokens taken at start) ------------------------------------------

describe("expiry (TK_ACCESS_TTL=2, TK_REFRESH_TTL=3)", () => {
  it("simplejwt: expired access -> 401 token_not_valid, 'Token is expired' only in messages", async (t) => {
    const b = servers["simplejwt:short"];
    const { access, refresh } = expiring.simplejwt;
    assert.ok([1, 2].includes(claims(access).exp - claims(access).iat)); // see the login test
    await waitPast(claims(access).exp);
    const me = await call(b, "GET", b.paths.me, { token: access });
    record(t, "expired access token", me);
    assert.equal(me.status, 401);
    assert.deepEqual(me.json, {
      detail: "Given token not valid for any token type",
      code: "token_not_valid",
      messages: [{ token_class: "AccessToken", token_type: "access", message: "Token is expired" }],
    });
    await waitPast(claims(refresh).exp);
    const r = await call(b, "POST", b.paths.refresh, { json: { refresh } });
    record(t, "expired refresh token", r);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { detail: "Token is expired", code: "token_not_valid" });
  });

  it("flask-jwt-extended: expired access and refresh -> 401 {msg: 'Token has expired'}", async (t) => {
    const b = servers["flask_jwt_extended:short"];
    const { access, refresh } = expiring.flask_jwt_extended;
    assert.equal(claims(access).exp - claims(access).iat, 2);
    await waitPast(claims(access).exp);
    const me = await call(b, "GET", b.paths.me, { token: access });
    record(t, "expired access token", me);
    assert.equal(me.status, 401);
    assert.deepEqual(me.json, { msg: "Token has expired" });
    await waitPast(claims(refresh).exp);
    const r = await call(b, "POST", b.paths.refresh, { token: refresh });
    record(t, "expired refresh token", r);
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { msg: "Token has expired" });
  });

  it("fastapi-users: expired access -> 401 {detail: 'Unauthorized'}, like any bad token", async (t) => {
    const b = servers["fastapi_users:short"];
    const { access } = expiring.fastapi_users;
    await waitPast(claims(access).exp);
    const me = await call(b, "GET", b.paths.me, { token: access });
    record(t, "expired access token", me);
    assert.equal(me.status, 401);
    assert.deepEqual(me.json, { detail: "Unauthorized" });
  });
});
