// A minimal W3C WebDriver client over Node's `fetch`, for Debian's WebKitGTK driver
// (`/usr/bin/WebKitWebDriver`) and geckodriver (Firefox). Chosen over selenium-webdriver (26 MB, of which 21 MB are
// selenium-manager binaries that download drivers) and WebdriverIO (68 MB, ~290 packages, and
// its own driver set-up): the suites need a dozen commands, this file has no dependency, and it
// cannot download anything. Spec: https://www.w3.org/TR/webdriver2/.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

/** A free 127.0.0.1 port (bound, then released for the driver to take). */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** WebKitWebDriver's command line: its flags take `=`, and "local" means the loopback address. */
export const webKitDriverArgs = (port) => [`--port=${port}`, "--host=local"];

/**
 * Starts the WebDriver server `binary` on a free 127.0.0.1 port and waits until its `/status`
 * says it is ready. Resolves with `{ url, stop }`.
 *
 * - `args(port)`: the driver's command line (WebKitWebDriver's by default);
 * - `needsDisplay`: the browser needs an X display (`xvfb-run -a`), as WebKitGTK does; checked
 *   here so that a missing one is a clear message rather than a session that never starts;
 * - `env`: extra environment for the driver (and the browser it launches).
 */
export async function startDriver(binary, { args = webKitDriverArgs, needsDisplay = true, env = {}, timeoutMs = 20_000 } = {}) {
  if (needsDisplay && !process.env.DISPLAY) {
    throw new Error(`${binary} needs an X display: run under \`xvfb-run -a\` (make test-e2e-webkit does)`);
  }
  const port = await freePort();
  const child = spawn(binary, args(port), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const output = [];
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => output.push(String(d)));
  // A binary that cannot be started (not found, not executable) emits "error" and no "exit".
  let spawnError = null;
  child.once("error", (error) => (spawnError = error));
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal));
    child.once("error", () => resolve(null));
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw new Error(`${binary} could not be started: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${binary} exited before it was ready:\n${output.join("")}`);
    }
    try {
      const status = await (await fetch(`${url}/status`)).json();
      if (status.value?.ready) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`${binary} not ready within ${timeoutMs} ms:\n${output.join("")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** An error the driver returned: `error` is the W3C error code ("javascript error", …). */
export class WebDriverError extends Error {
  constructor(command, value) {
    super(`${command}: ${value?.error}: ${value?.message}`);
    this.name = "WebDriverError";
    this.error = value?.error;
  }
}

/** One WebDriver session (one browser instance; its windows share cookies and storage). */
export class Session {
  constructor(base, id, capabilities) {
    this.base = base;
    this.id = id;
    this.capabilities = capabilities;
  }

  /**
   * `POST /session`. `capabilities` go into `alwaysMatch`. Rejects after `timeoutMs` (the
   * browser did not start).
   */
  static async create(driverUrl, capabilities = {}, { timeoutMs = 60_000 } = {}) {
    const body = { capabilities: { alwaysMatch: capabilities } };
    const value = await command(driverUrl, "POST", "/session", body, AbortSignal.timeout(timeoutMs));
    return new Session(`${driverUrl}/session/${value.sessionId}`, value.sessionId, value.capabilities);
  }

  /** Any command on this session: `cmd("GET", "/url")`. */
  cmd(method, path, body) {
    return command(this.base, method, path, body);
  }

  /** `DELETE /session`: closes every window. */
  close() {
    return this.cmd("DELETE", "");
  }

  /** Sets the script, page-load and implicit-wait timeouts (ms). */
  timeouts(timeouts) {
    return this.cmd("POST", "/timeouts", timeouts);
  }

  /** Navigates the current window and waits for the load. */
  navigate(url) {
    return this.cmd("POST", "/url", { url });
  }

  /** Reloads the current window and waits for the load. */
  refresh() {
    return this.cmd("POST", "/refresh", {});
  }

  /**
   * Runs `fn(...args)` in the current window and resolves with its (JSON-serialisable) result;
   * a returned Promise is awaited by the driver (W3C "Execute Script").
   */
  execute(fn, ...args) {
    return this.cmd("POST", "/execute/sync", {
      script: `return (${fn}).apply(null, arguments);`,
      args,
    });
  }

  /** The current window's handle. */
  windowHandle() {
    return this.cmd("GET", "/window");
  }

  /** Opens a new top-level window (`"window"`) or tab (`"tab"`); resolves with its handle. */
  async newWindow(type = "window") {
    return (await this.cmd("POST", "/window/new", { type })).handle;
  }

  /** Makes `handle` the current window: later commands go to it. */
  switchTo(handle) {
    return this.cmd("POST", "/window", { handle });
  }

  /** The cookies visible to the current document, HttpOnly ones included. */
  cookies() {
    return this.cmd("GET", "/cookie");
  }

  /** Deletes the current document's cookies. */
  deleteCookies() {
    return this.cmd("DELETE", "/cookie");
  }
}

/** Sends one command and returns its `value`, or throws a `WebDriverError`. */
async function command(base, method, path, body, signal = undefined) {
  const response = await fetch(`${base}${path}`, {
    method,
    signal,
    headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  // Errors come with a 4xx/5xx status; a script's result may well have an `error` field.
  if (!response.ok) throw new WebDriverError(`${method} ${path}`, parsed.value);
  return parsed.value;
}
