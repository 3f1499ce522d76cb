// The SDK in Chromium against the real Python auth libraries (tests/backends/): each through its
// preset and documented options only. Login, a wrong password, an inactive user, `fetch`/`me`,
// `decodeClaims`, reload, proactive refresh of 5-second tokens, explicit refresh with rotation,
// and logout with the server-side revocation checked from Node, wherever the library can revoke.
// Where a library cannot do something (fastapi-users has no refresh, and its JWT logout revokes
// nothing), the test asserts that too.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { launchChromium } from "./harness.mjs";
import {
  clientFetch,
  createClient,
  diagnostics,
  jwtClaims,
  loadPackage,
  login,
  loginOk,
  me,
  openClient,
  session,
  startTestServer,
  waitForEvent,
} from "./client-helpers.mjs";
import { startBackend, users } from "../backends/backends.mjs";

const { alice, inactive } = users;

/** Each library: its preset, and the options its docs leave to the app (the user endpoint). */
const LIBRARIES = {
  simplejwt: { profile: "simplejwt", me: "/api/me/" },
  flask_jwt_extended: { profile: "flask-jwt-extended", me: "/me" },
  fastapi_users: { profile: "fastapi-users", me: null },
};

let browser;
let page0; // the companion server: it serves the package to the pages
before(async () => {
  [browser, page0] = await Promise.all([launchChromium(), startTestServer()]);
});
after(async () => {
  await Promise.all([browser?.close(), page0?.stop()]);
});

/** The client options for `backend`: the preset, plus `endpoints.me` where the app names it. */
function optionsFor(name, backend) {
  const { profile, me: mePath } = LIBRARIES[name];
  return {
    baseUrl: backend.baseUrl,
    profile,
    ...(mePath ? { endpoints: { me: mePath } } : {}),
    storageKey: `backends-${name}`,
  };
}

/** A raw request from Node (the attacker's or the auditor's view of the server). */
async function raw(backend, path, { method = "GET", bearer, json } = {}) {
  const headers = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (json) headers["content-type"] = "application/json";
  const response = await fetch(`${backend.baseUrl}${path}`, {
    method,
    headers,
    body: json ? JSON.stringify(json) : undefined,
  });
  const text = await response.text();
  return { status: response.status, text };
}

/** The server's answer to a refresh with `refreshToken`, asked the way the library is asked. */
async function refreshWith(name, backend, refreshToken) {
  const reply =
    name === "simplejwt"
      ? await raw(backend, backend.paths.refresh, { method: "POST", json: { refresh: refreshToken } })
      : await raw(backend, backend.paths.refresh, { method: "POST", bearer: refreshToken });
  return reply;
}

const errorCode = (result) => (result.ok ? "ok" : result.error.code);

for (const name of Object.keys(LIBRARIES)) {
  describe(`backend ${name}`, () => {
    let backend; // default lifetimes (5 min access)
    let shortLived; // 5-second access tokens
    before(async () => {
      [backend, shortLived] = await Promise.all([
        startBackend(name),
        startBackend(name, { accessTtl: 5, refreshTtl: 120 }),
      ]);
    });
    after(async () => {
      await Promise.all([backend?.stop(), shortLived?.stop()]);
    });

    test(`${name}: login, wrong password, inactive user, fetch/me, decodeClaims, reload`, async (t) => {
      const options = optionsFor(name, backend);
      const { page, context } = await openClient(t, browser, page0.url, options);

      assert.equal(errorCode(await login(page, alice.username, "wrong")), "invalid_credentials");
      // No library tells an inactive account from a wrong password at login (README).
      assert.equal(errorCode(await login(page, inactive.username, inactive.password)), "invalid_credentials");

      const s = await loginOk(page, alice.username, alice.password);
      assert.ok(s.accessToken);
      assert.equal(s.refreshToken !== null, name !== "fastapi_users", "refresh token where the library has one");
      const decoded = await page.evaluate((token) => window.tk.decodeClaims(token), s.accessToken);
      assert.deepEqual(decoded, jwtClaims(s.accessToken));
      assert.deepEqual(s.claims, decoded);

      const mePath = backend.paths.me;
      const fetched = await clientFetch(page, `${backend.baseUrl}${mePath}`);
      assert.equal(fetched.ok && fetched.value.status, 200, JSON.stringify(fetched));
      if (LIBRARIES[name].me || name === "fastapi_users") {
        const user = await me(page);
        assert.ok(user.ok, JSON.stringify(user));
        assert.equal(user.value.email ?? user.value.username, alice.username);
      }

      // A reload restores the session from storage, with the same tokens.
      await page.reload();
      await loadPackage(page);
      const initial = await createClient(page, options);
      assert.equal(initial.event, "INITIAL_SESSION");
      assert.equal(initial.session?.accessToken, s.accessToken);
      assert.equal(await page.evaluate(() => window.client.isAuthenticated()), true);
      await context.close();
    });

    if (name === "fastapi_users") {
      test(`${name}: no refresh (the library has none): the session ends at expiry`, async (t) => {
        const { page } = await openClient(t, browser, page0.url, optionsFor(name, shortLived));
        await loginOk(page, alice.username, alice.password);
        const refreshed = await page.evaluate(() => window.__try(() => window.client.refresh()));
        assert.equal(refreshed.ok, false, "refresh() cannot succeed without a refresh endpoint");
        await waitForEvent(page, "SESSION_EXPIRED", { timeout: 15_000 });
        assert.equal(await page.evaluate(() => window.client.getAccessToken()), null);
      });

      test(`${name}: a page clock 10 minutes ahead still trusts a token without iat, by the Date header`, async (t) => {
        const { page } = await openClient(t, browser, page0.url, null);
        await page.context().clock.install({ time: Date.now() + 10 * 60_000 });
        await page.reload();
        await loadPackage(page);
        await createClient(page, optionsFor(name, backend));
        const s = await loginOk(page, alice.username, alice.password);
        assert.equal(jwtClaims(s.accessToken).iat, undefined, "fastapi-users tokens carry no iat");
        const d = await diagnostics(page);
        assert.equal(d.clockOffsetSource, "date");
        assert.ok(Math.abs(d.clockOffsetMs + 600_000) < 5_000, `offset ${d.clockOffsetMs}`);
        // Without the offset the 5-minute token would look expired on this clock.
        assert.equal(await page.evaluate(() => window.client.isAuthenticated()), true);
        assert.ok(await page.evaluate(() => window.client.getAccessToken()));
      });
    } else {
      test(`${name}: proactive refresh of 5-second tokens, then explicit refresh`, async (t) => {
        const { page, requests } = await openClient(t, browser, page0.url, optionsFor(name, shortLived));
        const s0 = await loginOk(page, alice.username, alice.password);
        const events = await waitForEvent(page, "TOKEN_REFRESHED", { timeout: 15_000 });
        const s1 = events.find((e) => e.event === "TOKEN_REFRESHED").session;
        assert.notEqual(s1.accessToken, s0.accessToken);
        assert.ok(s1.expiresAt > s0.expiresAt);
        // The token in hand keeps working against the library.
        const fetched = await clientFetch(page, `${shortLived.baseUrl}${shortLived.paths.me}`);
        assert.equal(fetched.ok && fetched.value.status, 200);

        const before = await session(page);
        const explicit = await page.evaluate(() => window.__try(async () => window.__plain(await window.client.refresh())));
        assert.ok(explicit.ok, JSON.stringify(explicit));
        assert.notEqual(explicit.value.accessToken, before.accessToken);
        if (name === "simplejwt") {
          // Rotation: a new refresh token each time, and the old one blacklisted.
          assert.notEqual(explicit.value.refreshToken, before.refreshToken);
          const old = await refreshWith(name, shortLived, before.refreshToken);
          assert.equal(old.status, 401, old.text);
        } else {
          // flask-jwt-extended's documented refresh issues an access token only.
          assert.equal(explicit.value.refreshToken, before.refreshToken);
          const sent = requests.filter((r) => r.path === shortLived.paths.refresh);
          await requests.settled();
          assert.ok(sent.length >= 2);
          assert.ok(sent.every((r) => r.authorization === `Bearer ${before.refreshToken}` && !r.body));
        }
      });
    }

    test(`${name}: logout revokes on the server wherever the library can`, async (t) => {
      const { page, requests } = await openClient(t, browser, page0.url, optionsFor(name, backend));
      const s = await loginOk(page, alice.username, alice.password);
      const out = await page.evaluate(() => window.__try(() => window.client.logout()));
      assert.ok(out.ok, JSON.stringify(out));
      assert.equal(await session(page), null);
      assert.equal(await page.evaluate((key) => localStorage.getItem(key), `backends-${name}`), null);
      await requests.settled();
      const logouts = requests.filter((r) => r.path === backend.paths.logout && r.method !== "OPTIONS");
      const meReply = await raw(backend, backend.paths.me, { bearer: s.accessToken });
      if (name === "simplejwt") {
        assert.equal(logouts.length, 1);
        assert.deepEqual(JSON.parse(logouts[0].body), { refresh: s.refreshToken });
        const refresh = await refreshWith(name, backend, s.refreshToken);
        assert.equal(refresh.status, 401, refresh.text);
        assert.match(refresh.text, /blacklisted/);
        // simplejwt cannot revoke access tokens: it stays valid until it expires (README).
        assert.equal(meReply.status, 200);
      } else if (name === "flask_jwt_extended") {
        assert.deepEqual(
          logouts.map((r) => [r.method, r.authorization]),
          [
            ["DELETE", `Bearer ${s.accessToken}`],
            ["DELETE", `Bearer ${s.refreshToken}`],
          ],
        );
        assert.equal(meReply.status, 401, meReply.text);
        assert.match(meReply.text, /revoked/);
        const refresh = await refreshWith(name, backend, s.refreshToken);
        assert.equal(refresh.status, 401, refresh.text);
        assert.match(refresh.text, /revoked/);
      } else {
        assert.deepEqual(logouts.map((r) => [r.method, r.authorization]), [["POST", `Bearer ${s.accessToken}`]]);
        // The JWT strategy is stateless: its logout revokes nothing (README).
        assert.equal(meReply.status, 200);
      }
    });

    if (name === "flask_jwt_extended") {
      test(`${name}: one logout call may be given as an object (here: the access token only)`, async (t) => {
        const options = { ...optionsFor(name, backend), logout: { method: "DELETE" } };
        const { page, requests } = await openClient(t, browser, page0.url, options);
        const s = await loginOk(page, alice.username, alice.password);
        assert.ok((await page.evaluate(() => window.__try(() => window.client.logout()))).ok);
        await requests.settled();
        const logouts = requests.filter((r) => r.path === backend.paths.logout && r.method !== "OPTIONS");
        assert.deepEqual(logouts.map((r) => [r.method, r.authorization]), [["DELETE", `Bearer ${s.accessToken}`]]);
        assert.equal((await raw(backend, backend.paths.me, { bearer: s.accessToken })).status, 401);
        // The refresh token was not part of this logout: the server still takes it.
        assert.equal((await refreshWith(name, backend, s.refreshToken)).status, 200);
      });

      test(`${name}: an access token revoked elsewhere is refreshed and the call replayed`, async (t) => {
        const { page, requests } = await openClient(t, browser, page0.url, optionsFor(name, backend));
        const s = await loginOk(page, alice.username, alice.password);
        // Another device (or an admin) revokes this access token on the server.
        const revoked = await raw(backend, backend.paths.logout, { method: "DELETE", bearer: s.accessToken });
        assert.equal(revoked.status, 200, revoked.text);
        const fetched = await clientFetch(page, `${backend.baseUrl}${backend.paths.me}`);
        assert.equal(fetched.ok && fetched.value.status, 200, JSON.stringify(fetched));
        await requests.settled();
        const meCalls = requests.filter((r) => r.path === backend.paths.me && r.method === "GET");
        assert.deepEqual(
          meCalls.map((r) => r.authorization === `Bearer ${s.accessToken}`),
          [true, false],
          "refused once with the revoked token, then replayed with the refreshed one",
        );
        assert.equal((await session(page)).refreshToken, s.refreshToken);
      });
    }
  });
}
