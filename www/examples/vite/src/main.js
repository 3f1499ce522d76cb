// A Vite app using tokenkeeper exactly as the README shows: the bare import, `await init()`, one
// client, a listener that re-renders, and `client.fetch` for API calls.
import init, { AuthClient, AuthError, version } from "tokenkeeper";
import "./style.css";

const $ = (id) => document.getElementById(id);

await init(); // fetches and compiles the .wasm that Vite emitted next to the bundle

const client = new AuthClient({
  // The API is on this origin (in dev, vite.config.js proxies it to the companion server).
  baseUrl: location.origin,
  // Session storage: survives a reload, private to the tab, gone when the tab closes.
  storage: "session",
  storageKey: "tokenkeeper-vite-example",
});

client.onAuthStateChange((event, session) => {
  const item = document.createElement("li");
  item.textContent = session ? `${event} (${session.claims.email ?? session.claims.sub})` : event;
  $("events").append(item);
  render();
});

function render() {
  const session = client.session();
  $("login").hidden = session !== null;
  $("session").hidden = session === null;
  if (session === null) return;
  $("who").textContent = String(session.claims.email ?? session.claims.sub);
  $("claims").textContent = JSON.stringify(session.claims, null, 2);
  $("admin").hidden = !client.hasRole("admin"); // UI only: the server decides access
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  $("error").hidden = true;
  try {
    await client.login(form.username.value, form.password.value);
  } catch (error) {
    // Every rejection is an AuthError with a stable code.
    $("error").textContent =
      error instanceof AuthError ? `${error.code}: ${error.message}` : `unexpected: ${error}`;
    $("error").hidden = false;
  }
});

$("me").addEventListener("click", async () => {
  const response = await client.fetch("/auth/me"); // adds the bearer token
  $("me-output").textContent = `${response.status} ${await response.text()}`;
  $("me-output").hidden = false;
});

$("logout").addEventListener("click", () => client.logout());

$("version").textContent = version();
document.body.dataset.ready = "true";
