// The tokenkeeper demo. It loads the package the way an app without a bundler does, and uses
// nothing but the public API (plus getDiagnostics() for the countdowns).
//
// Tokens are never shown: the page shows claims, events and at most the first 8 characters of
// the access token (the JOSE header, the same for every token).
import init, { AuthClient, AuthError, decodeClaims, version } from "/pkg/tokenkeeper.js";

const STORAGE_MODES = ["local", "session", "memory"];
/** The demo's own preference (which storage mode to use); not a token. */
const MODE_KEY = "tokenkeeper-demo:storage-mode";
/** Where the client keeps the session (namespaced so other apps on the origin are untouched). */
const STORAGE_KEY = "tokenkeeper-demo";
const MAX_LOG_ENTRIES = 60;

// HS256, signed with a throwaway demo key; exp is in 2100.
const SAMPLE_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiWm_DqyBFeGFtcGxlIiwiZW1haWwiOiJ6b2VAZXhhbXBsZS5jb20iLCJyb2xlIjoiYWRtaW4iLCJ0eXBlIjoiYWNjZXNzIiwic3ViIjoiNDIiLCJpYXQiOjE3NjM4MDAwMDAsImV4cCI6NDEwMjQ0NDgwMH0.X6S05_pKvupC_N3BaDxwowlwjnblrzrdZH81vB-IEMU";

const TAB_HINTS = {
  local:
    "With local storage every tab of this origin shares one session. Sign in, wait for a " +
    "refresh or log out here, and the other tab's event log shows the same SIGNED_IN, " +
    "TOKEN_REFRESHED and SIGNED_OUT; only one tab sends each refresh request.",
  session:
    "Session storage belongs to one tab: a new tab starts signed out and keeps its own " +
    "session, which survives a reload of that tab.",
  memory:
    "Memory storage belongs to this page only: a new tab starts signed out, and a reload " +
    "signs this one out too.",
};

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

/** @type {AuthClient | null} */
let client = null;
let unsubscribe = () => {};
let mode = initialMode();

// ---------------------------------------------------------------------------------------------
// Client lifecycle

function initialMode() {
  const fromUrl = new URLSearchParams(location.search).get("storage");
  if (STORAGE_MODES.includes(fromUrl)) return fromUrl;
  try {
    const saved = localStorage.getItem(MODE_KEY);
    if (STORAGE_MODES.includes(saved)) return saved;
  } catch {
    // Storage disabled: the default it is.
  }
  return "local";
}

/** Creates the client for `nextMode`, disposing the previous one (its stored session stays). */
function startClient(nextMode) {
  if (client) {
    unsubscribe();
    client.dispose();
  }
  mode = nextMode;
  client = new AuthClient({
    baseUrl: location.origin,
    storage: mode,
    storageKey: STORAGE_KEY,
  });
  unsubscribe = client.onAuthStateChange((event, session) => {
    logEvent(event, session);
    render();
  });
  for (const input of document.querySelectorAll('input[name="storage"]')) {
    input.checked = input.value === mode;
  }
  $("tabs-hint-text").textContent = TAB_HINTS[mode];
  $("second-tab").href = `/?storage=${mode}`;
  $("storage-mode").textContent = mode;
  document.body.dataset.storage = mode;
  render();
}

function switchMode(nextMode) {
  if (nextMode === mode) return;
  try {
    localStorage.setItem(MODE_KEY, nextMode);
  } catch {}
  history.replaceState(null, "", `/?storage=${nextMode}`);
  logNote(`storage: ${nextMode}`, "new AuthClient; each storage keeps its own session");
  startClient(nextMode);
}

// ---------------------------------------------------------------------------------------------
// Rendering

function render() {
  const session = client?.session() ?? null;
  const signedIn = session !== null;
  document.body.dataset.auth = signedIn ? "signed-in" : "signed-out";
  $("signin-card").hidden = signedIn;
  $("session-card").hidden = !signedIn;
  $("claims-card").hidden = !signedIn;
  $("admin-panel").hidden = !(signedIn && client.hasRole("admin"));
  if (!signedIn) {
    $("me-output").hidden = true;
    $("admin-users").hidden = true;
    return;
  }
  const claims = session.claims;
  const who = typeof claims.email === "string" ? claims.email : String(claims.sub ?? "unknown");
  $("who").textContent = who;
  $("avatar").textContent = who.slice(0, 1).toUpperCase();
  $("sub").textContent = String(claims.sub ?? "—");
  $("token-preview").textContent = `${session.accessToken.slice(0, 8)}…`;
  const role = client.hasRole("admin") ? "admin" : rolesOf(claims).join(", ") || "no role";
  $("role").textContent = role;
  $("role").className = `role${role === "admin" ? " role-admin" : ""}`;
  renderClaims(claims);
  tick();
}

function rolesOf(claims) {
  const value = claims.roles ?? claims.role ?? [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function renderClaims(claims) {
  const rows = Object.entries(claims).map(([name, value]) => {
    const row = document.createElement("tr");
    const key = document.createElement("th");
    key.textContent = name;
    const cell = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = JSON.stringify(value);
    cell.append(code);
    if (["exp", "iat", "nbf"].includes(name) && typeof value === "number") {
      const when = document.createElement("span");
      when.className = "muted";
      when.textContent = ` ${clockTime(value * 1000)}`;
      cell.append(when);
    }
    row.append(key, cell);
    return row;
  });
  $("session-claims").tBodies[0].replaceChildren(...rows);
}

/** Updates the countdowns: to expiry, and to the next refresh (from getDiagnostics()). */
function tick() {
  if (!client || client.session() === null) return;
  const diagnostics = client.getDiagnostics();
  const claims = client.claims() ?? {};
  const now = Date.now();
  const lifetime =
    typeof claims.exp === "number" && typeof claims.iat === "number"
      ? (claims.exp - claims.iat) * 1000
      : null;
  const { expiresAt, nextRefreshAt } = diagnostics;

  setCountdown("expires", expiresAt, now, lifetime);
  $("expires-at").textContent = expiresAt === null ? "—" : clockTime(expiresAt);
  // The refresh bar runs from when the token was issued (on this clock) to the planned refresh.
  const issuedAt = expiresAt !== null && lifetime !== null ? expiresAt - lifetime : null;
  const refreshSpan =
    nextRefreshAt !== null && issuedAt !== null ? Math.max(nextRefreshAt - issuedAt, 1) : null;
  setCountdown("refresh", nextRefreshAt, now, refreshSpan);
  $("refresh-count").textContent = String(diagnostics.refreshCount);
  $("phase").textContent = diagnostics.phase.replace("_", " ");
}

function setCountdown(name, at, now, span) {
  const label = $(`${name}-in`);
  const bar = $(`${name}-bar`);
  if (at === null) {
    label.textContent = "—";
    bar.style.width = "0%";
    return;
  }
  const left = Math.max(at - now, 0);
  label.textContent = left === 0 ? "now" : `${(left / 1000).toFixed(left < 10_000 ? 1 : 0)} s`;
  const fraction = span ? Math.min(left / span, 1) : 0;
  bar.style.width = `${(fraction * 100).toFixed(1)}%`;
}

function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

// ---------------------------------------------------------------------------------------------
// The event log: events and the calls the page makes. Never a token.

function describe(event, session) {
  const claims = session?.claims ?? {};
  const who = claims.email ?? claims.sub;
  const until = session?.expiresAt ? `, valid until ${clockTime(session.expiresAt)}` : "";
  switch (event) {
    case "INITIAL_SESSION":
      return session ? `restored ${who}'s session from ${mode} storage${until}` : `no session in ${mode} storage`;
    case "SIGNED_IN":
      return `${who} (${rolesOf(claims).join(", ") || "no role"})${until}`;
    case "TOKEN_REFRESHED":
      return `new access token${until}`;
    case "SIGNED_OUT":
      return "session cleared";
    case "SESSION_EXPIRED":
      return "the access token expired and could not be refreshed";
    case "REFRESH_FAILED": {
      const error = client?.getDiagnostics().lastError;
      return error ? `${error.code}${error.status ? ` (${error.status})` : ""}` : "refresh failed";
    }
    default:
      return "";
  }
}

function logEvent(event, session) {
  appendLog({ kind: "event", label: event, detail: describe(event, session) });
}

function logNote(label, detail, kind = "call") {
  appendLog({ kind, label, detail });
}

function appendLog({ kind, label, detail }) {
  const item = document.createElement("li");
  item.dataset.kind = kind;
  if (kind === "event") item.dataset.event = label;
  const time = document.createElement("time");
  time.textContent = clockTime(Date.now());
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = label;
  const text = document.createElement("span");
  text.className = "detail";
  text.textContent = detail;
  item.append(time, badge, text);
  const log = $("event-log");
  log.prepend(item);
  while (log.children.length > MAX_LOG_ENTRIES) log.lastElementChild.remove();
}

function errorText(error) {
  if (error instanceof AuthError) {
    return `${error.code}${error.status ? ` (HTTP ${error.status})` : ""}: ${error.message}`;
  }
  return String(error?.message ?? error);
}

// ---------------------------------------------------------------------------------------------
// Actions

async function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = $("login");
  const error = $("login-error");
  error.hidden = true;
  button.disabled = true;
  try {
    await client.login(form.username.value.trim(), form.password.value);
  } catch (e) {
    error.textContent = errorText(e);
    error.dataset.code = e?.code ?? "";
    error.hidden = false;
    logNote("login failed", e?.code ?? "error", "error");
  } finally {
    button.disabled = false;
  }
}

async function onCallMe() {
  const output = $("me-output");
  const started = performance.now();
  try {
    const response = await client.fetch("/auth/me");
    const body = await response.text();
    let shown = body;
    try {
      shown = JSON.stringify(JSON.parse(body), null, 2);
    } catch {}
    output.textContent = `HTTP ${response.status}\n${shown}`;
    output.dataset.status = String(response.status);
    logNote("GET /auth/me", `${response.status} in ${Math.round(performance.now() - started)} ms`);
  } catch (e) {
    output.textContent = errorText(e);
    output.dataset.status = "error";
    logNote("GET /auth/me", errorText(e), "error");
  }
  output.hidden = false;
}

async function onRefresh() {
  try {
    await client.refresh();
  } catch (e) {
    logNote("refresh()", errorText(e), "error");
  }
}

async function onLogout() {
  await client.logout(); // always resolves; local state is cleared even if the server fails
}

async function onLoadUsers() {
  const table = $("admin-users");
  try {
    const response = await client.fetch("/admin/users");
    logNote("GET /admin/users", String(response.status));
    if (!response.ok) {
      table.hidden = true;
      return;
    }
    const users = await response.json();
    const rows = users.map((user) => {
      const row = document.createElement("tr");
      for (const value of [user.id, user.email, user.name, user.role, user.is_active ? "yes" : "no"]) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.append(cell);
      }
      return row;
    });
    table.tBodies[0].replaceChildren(...rows);
    table.hidden = false;
  } catch (e) {
    logNote("GET /admin/users", errorText(e), "error");
  }
}

function decodeInput() {
  const output = $("decoded");
  const token = $("decode-input").value.trim();
  if (token === "") {
    output.textContent = "";
    return;
  }
  try {
    output.textContent = JSON.stringify(decodeClaims(token), null, 2);
    output.classList.remove("error");
  } catch (e) {
    output.textContent = errorText(e);
    output.classList.add("error");
  }
}

// ---------------------------------------------------------------------------------------------
// Start

try {
  await init();
  $("version").textContent = version();
  $("decode-input").value = SAMPLE_TOKEN;
  decodeInput();

  $("decode-input").addEventListener("input", decodeInput);
  $("login-form").addEventListener("submit", onLogin);
  $("call-me").addEventListener("click", onCallMe);
  $("refresh-now").addEventListener("click", onRefresh);
  $("logout").addEventListener("click", onLogout);
  $("load-users").addEventListener("click", onLoadUsers);
  $("clear-log").addEventListener("click", () => $("event-log").replaceChildren());
  for (const row of $("seed-users").tBodies[0].rows) {
    row.addEventListener("click", () => {
      const form = $("login-form");
      form.username.value = row.dataset.username;
      form.password.value = row.dataset.password;
      form.password.focus();
    });
  }
  for (const input of document.querySelectorAll('input[name="storage"]')) {
    input.addEventListener("change", () => switchMode(input.value));
  }

  startClient(mode);
  setInterval(tick, 200);
  $("status").textContent = "Package loaded. Tokens are never shown: claims and events only.";
  document.body.dataset.ready = "true";
} catch (error) {
  $("status").textContent = `Failed to load the package: ${error.code ?? ""} ${error.message}`;
  document.body.dataset.ready = "error";
  throw error;
}
