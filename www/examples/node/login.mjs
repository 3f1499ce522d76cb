// tokenkeeper in Node >= 20: sign in to a tokenkeeper-compatible API, read the claims with
// decodeClaims, call the `me` endpoint, refresh, and log out.
//
//   node login.mjs [baseUrl] [username] [password]
//
// baseUrl defaults to $TOKENKEEPER_URL, then http://127.0.0.1:8080 (`make demo`); the user to
// the companion server's seed admin. Prints what happens, never a token.
import init, { AuthClient, AuthError, decodeClaims, version } from "tokenkeeper";

const [
  baseUrl = process.env.TOKENKEEPER_URL ?? "http://127.0.0.1:8080",
  username = "admin@example.com",
  password = "admin-password",
] = process.argv.slice(2);

await init(); // the Node build is ready at once; the call keeps one code path for all targets
console.log(`tokenkeeper ${version()} → ${baseUrl}`);

// Node has no localStorage: "memory" says so explicitly (it would fall back to it anyway).
const client = new AuthClient({ baseUrl, storage: "memory" });
client.onAuthStateChange((event, session) => {
  console.log(`event ${event}${session ? ` (${session.claims.email ?? session.claims.sub})` : ""}`);
});

try {
  // Every rejection is an AuthError with a stable code (and an HTTP status when one came).
  try {
    await client.login(username, `${password}-wrong`);
  } catch (error) {
    if (!(error instanceof AuthError) || error.code !== "invalid_credentials") throw error;
    console.log(`wrong password → ${error.code} (HTTP ${error.status})`);
  }

  const session = await client.login(username, password);
  const claims = decodeClaims(session.accessToken); // no signature check: display only
  const expires = new Date(session.expiresAt).toISOString();
  console.log(`signed in: sub ${claims.sub}, email ${claims.email}, role ${claims.role}`);
  console.log(`token type ${claims.type}, expires ${expires} (${claims.exp - claims.iat} s lifetime)`);
  console.log(`hasRole("admin"): ${client.hasRole("admin")}`);

  const me = await client.me();
  console.log(`me: ${JSON.stringify(me)}`);

  const refreshed = await client.refresh();
  console.log(`refreshed: new token expires ${new Date(refreshed.expiresAt).toISOString()}`);

  await client.logout();
  console.log(`signed out: session() is ${client.session()}`);
} catch (error) {
  console.error(`failed: ${error.code ?? ""} ${error.message}`);
  process.exitCode = 1;
} finally {
  // Events are delivered asynchronously; let the last one through, then stop the refresh timer
  // (without dispose() it would keep the process alive until the next refresh).
  await new Promise((resolve) => setTimeout(resolve, 0));
  client.dispose();
}
