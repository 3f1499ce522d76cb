// client.fetch() never sends the access token to the login and refresh endpoints, and a 401
// from them never starts a refresh (a refresh that 401s must not refresh again, and the token
// has no business there).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchChromium } from "./harness.mjs";
import {
  clientFetch,
  countStatus,
  getStats,
  loginOk,
  openClient,
  resetServer,
  startTestServer,
} from "./client-helpers.mjs";

let browser;
let server;

before(async () => {
  [browser, server] = await Promise.all([
    launchChromium(),
    startTestServer(["--access-ttl", "300", "--refresh-ttl", "600"]),
  ]);
});
after(async () => {
  await Promise.all([browser?.close(), server?.stop()]);
});

test("fetch() to the login and refresh endpoints carries no token and never refreshes", async (t) => {
  await resetServer(server.url);
  const { page, requests } = await openClient(t, browser, server.url);
  await loginOk(page, "user@example.com", "user-password");

  // A refresh with a bad refresh token: the server answers 401.
  const refresh = await clientFetch(page, "/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: "not-a-token" }),
  });
  assert.equal(refresh.value?.status, 401, JSON.stringify(refresh));
  // A login with a wrong password: 401 as well.
  const login = await clientFetch(page, `${server.url}/auth/login?next=1`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "username=user%40example.com&password=wrong",
  });
  assert.equal(login.value?.status, 401, JSON.stringify(login));

  // Meanwhile an ordinary API call does carry the token.
  const dashboard = await clientFetch(page, "/dashboard");
  assert.equal(dashboard.value?.status, 200);

  await requests.settled();
  const sent = (path) => requests.filter((r) => r.path === path && r.method === "POST");
  assert.equal(sent("/auth/refresh").length, 1, "no refresh was started by the 401");
  assert.equal(sent("/auth/refresh")[0].authorization, null);
  assert.deepEqual(
    sent("/auth/login").map((r) => r.authorization),
    [null, null],
    "neither the client's own login nor the app's carried a token",
  );
  const dashboardRequest = requests.find((r) => r.path === "/dashboard");
  assert.match(dashboardRequest.authorization ?? "", /^Bearer ey/);

  const stats = await getStats(server.url);
  assert.equal(countStatus(stats, "POST /auth/refresh", 401), 1);
  assert.equal(countStatus(stats, "POST /auth/refresh", 200), 0, "no refresh of our own");
  const still = await page.evaluate(() => window.client.isAuthenticated());
  assert.equal(still, true, "the session is untouched");
});
