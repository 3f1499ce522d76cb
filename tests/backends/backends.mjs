// Starts the real Python auth backends of tests/backends/ (simplejwt, flask-jwt-extended,
// fastapi-users) for Node tests: a free 127.0.0.1 port, a fresh SQLite database in a temporary
// directory, the server from target/backends-venv (scripts/backends-venv.sh makes it) through
// tests/backends/run.sh, and a clean stop of the server and its children.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = join(here, "..", "..");
const runScript = join(here, "run.sh");

/** Test credentials seeded in every backend. */
export const users = Object.freeze({
  alice: Object.freeze({ username: "alice@example.com", password: "correct-horse" }),
  inactive: Object.freeze({ username: "inactive@example.com", password: "correct-horse" }),
});

/**
 * Each backend's endpoints (paths relative to `baseUrl`), how its login body is encoded, and its
 * SQLite file's name. `refresh` is null where the library has none.
 */
export const backends = Object.freeze({
  simplejwt: Object.freeze({
    paths: Object.freeze({
      login: "/api/token/",
      refresh: "/api/token/refresh/",
      logout: "/api/token/blacklist/",
      me: "/api/me/",
    }),
    loginEncoding: "json",
    database: "db.sqlite3",
  }),
  flask_jwt_extended: Object.freeze({
    paths: Object.freeze({ login: "/login", refresh: "/refresh", logout: "/logout", me: "/me" }),
    loginEncoding: "json",
    database: "app.db",
  }),
  fastapi_users: Object.freeze({
    paths: Object.freeze({
      login: "/auth/jwt/login",
      refresh: null,
      logout: "/auth/jwt/logout",
      me: "/users/me",
    }),
    loginEncoding: "form",
    database: "users.db",
  }),
});

// Servers not stopped yet: { pid, dataDir }.
const live = new Set();

/** Kills every live server's process group and removes its data, synchronously. */
function killAll() {
  for (const server of live) {
    killGroup(server.pid, "SIGKILL");
    rmSync(server.dataDir, { recursive: true, force: true });
  }
  live.clear();
}

// A test file that throws or is interrupted must not leave servers behind. On exit, and on the
// signals that end a run (the test runner passes Ctrl-C on as SIGTERM or SIGINT), kill what is
// still running; then end as the signal would have. If Node itself is SIGKILLed, run.sh notices
// that its parent is gone (TK_PARENT_PID) and stops the server.
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal); // the listener is gone: the default action ends the process
  });
}

function killGroup(pid, signal) {
  try {
    // Negative pid: the whole process group (the server was spawned detached, as its leader).
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts backend `name` and resolves once it answers HTTP.
 *
 * Options: `accessTtl` and `refreshTtl` (seconds, default 300 and 3600), `timeoutMs` for the start
 * (default 60000), `env` (extra environment).
 *
 * Resolves with `{ name, baseUrl, paths, loginEncoding, database, output, stop() }`: `database` is
 * the path of the run's SQLite file (for tests that change a user behind the server's back),
 * `output()` what the server printed so far (stdout and stderr, interleaved). Rejects with that
 * output in the message if the server exits or does not answer in time.
 */
export async function startBackend(name, { accessTtl, refreshTtl, timeoutMs = 60_000, env = {} } = {}) {
  const spec = backends[name];
  if (!spec) throw new Error(`unknown backend ${JSON.stringify(name)}; known: ${Object.keys(backends).join(", ")}`);
  const venvPython = join(repoRoot, "target", "backends-venv", "bin", "python");
  if (!existsSync(venvPython)) {
    throw new Error(`no venv at ${venvPython}: run scripts/backends-venv.sh first`);
  }
  // The port is free when chosen but could be taken before the server binds it: retry then.
  let lastError;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(name, spec, await freePort(), { accessTtl, refreshTtl, timeoutMs, env });
    } catch (error) {
      lastError = error;
      if (!/already in use|in use by another program|errno 98/i.test(error.message)) throw error;
    }
  }
  throw lastError;
}

async function startOnce(name, spec, port, { accessTtl, refreshTtl, timeoutMs, env }) {
  const dataDir = mkdtempSync(join(tmpdir(), `tk-backend-${name}-`));
  const child = spawn(runScript, [name], {
    cwd: repoRoot,
    env: {
      ...process.env,
      ...env,
      PORT: String(port),
      TK_DATA_DIR: dataDir,
      TK_REMOVE_DATA_DIR: "1", // run.sh removes it too, should this process die without stop()
      TK_PARENT_PID: String(process.pid),
      ...(accessTtl === undefined ? {} : { TK_ACCESS_TTL: String(accessTtl) }),
      ...(refreshTtl === undefined ? {} : { TK_REFRESH_TTL: String(refreshTtl) }),
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that stop() reaches run.sh, the server and anything they started.
    detached: true,
  });
  const server = { pid: child.pid, dataDir };
  live.add(server);

  const chunks = [];
  child.stdout.setEncoding("utf8").on("data", (text) => chunks.push(text));
  child.stderr.setEncoding("utf8").on("data", (text) => chunks.push(text));
  const output = () => chunks.join("");
  const shown = () => output() || "(no output yet)";

  // "close" comes once the output pipes are drained too: the error messages quote all of it.
  const closed = new Promise((resolve) => child.once("close", resolve));
  let exited = null;
  const exitPromise = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.once("error", (error) => {
      exited = { code: null, signal: null, error };
      resolve(exited);
    });
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      killGroup(child.pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    // run.sh's children may outlive it for an instant: make sure the whole group is gone.
    killGroup(child.pid, "SIGKILL");
    live.delete(server);
    rmSync(dataDir, { recursive: true, force: true });
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await Promise.race([closed, sleep(1_000)]);
      await stop();
      const how = exited.error ? exited.error.message : `code ${exited.code ?? exited.signal}`;
      throw new Error(`backend ${name} exited (${how}) before answering on ${baseUrl}:\n${shown()}`);
    }
    try {
      // Any HTTP answer will do (the protected endpoint answers 401 without a token).
      await fetch(baseUrl + spec.paths.me, { signal: AbortSignal.timeout(2_000) });
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`backend ${name} did not answer on ${baseUrl} within ${timeoutMs} ms:\n${shown()}`);
    }
    await sleep(100);
  }

  return {
    name,
    baseUrl,
    paths: spec.paths,
    loginEncoding: spec.loginEncoding,
    database: join(dataDir, spec.database),
    output,
    stop,
  };
}
