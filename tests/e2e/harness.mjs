// Shared plumbing for the end-to-end suites: start the companion server on a free loopback port,
// launch Debian's Chromium through playwright-core, and clean both up.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Flags Chromium needs as root on this machine, and to stay off the (closed) network. */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/**
 * Spawns a command that prints `listening on http://127.0.0.1:PORT` once bound, and resolves with
 * its URL. Everything else it prints is collected in `output` for failure messages.
 */
export async function spawnListening(command, args, { env = {}, timeoutMs = 60_000 } = {}) {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = [];
  createInterface({ input: child.stderr }).on("line", (line) => output.push(line));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" line within ${timeoutMs} ms:\n${output.join("\n")}`)),
      timeoutMs,
    );
    lines.on("line", (line) => {
      output.push(line);
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before listening:\n${output.join("\n")}`));
    });
  });
  const exited = once(child, "exit");
  return {
    url,
    child,
    output,
    /** Sends `signal` and resolves with the exit code (or the signal's name). */
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, sig] = await exited;
      return code ?? sig;
    },
  };
}

/** The companion server binary that `make test` builds before this suite runs. */
export const serverBinary =
  process.env.TOKENKEEPER_SERVER ?? join(repoRoot, "target", "debug", "tokenkeeper-server");

/**
 * Starts the companion server on a free 127.0.0.1 port with an in-memory database, serving
 * `www/static` and `pkg/`. Flags in `args` (profile, lifetimes, test mode) are added, and replace
 * these defaults when they name the same flag.
 */
export function startServer(args = []) {
  const defaults = {
    "--addr": "127.0.0.1:0",
    "--db": ":memory:",
    "--static-dir": join(repoRoot, "www", "static"),
    "--pkg-dir": join(repoRoot, "pkg"),
  };
  const kept = Object.entries(defaults).filter(([flag]) => !args.includes(flag)).flat();
  return spawnListening(serverBinary, [...kept, ...args]);
}

/** Launches headless Debian Chromium (never a downloaded browser). */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: chromiumArgs,
  });
}

/**
 * Opens a page that records problems a test should fail on: uncaught page errors, console
 * errors, and HTTP errors for the page's own resources (the browser's automatic favicon request
 * aside). Tests that expect some of these pass `allowConsoleErrors` and check `page.problems`.
 */
export async function openPage(context, url, { allowConsoleErrors = false } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // "Failed to load resource" carries no URL; the response handler below reports it with one.
    if (message.type() !== "error" || message.text().startsWith("Failed to load resource")) return;
    if (!allowConsoleErrors) problems.push(`console: ${message.text()}`);
  });
  page.on("response", (response) => {
    const { pathname } = new URL(response.url());
    if (response.status() >= 400 && pathname !== "/favicon.ico" && !allowConsoleErrors) {
      problems.push(`http ${response.status()}: ${response.request().method()} ${pathname}`);
    }
  });
  page.problems = problems;
  await page.goto(url);
  return page;
}

/**
 * Opens an empty page on `origin` (Playwright answers the one URL itself, so the server needs no
 * test page) and loads the package into it: `window.tk` is the module, initialised. Use
 * `page.evaluate(() => ...)` to drive `window.tk.AuthClient` from there.
 */
export async function openClientPage(context, origin, options = {}) {
  const blank = `${origin}/__e2e_blank.html`;
  await context.route(blank, (route) =>
    route.fulfill({ contentType: "text/html", body: "<!doctype html><title>e2e</title>" }),
  );
  const page = await openPage(context, blank, options);
  await page.evaluate(async () => {
    const tk = await import("/pkg/tokenkeeper.js");
    await tk.default();
    window.tk = tk;
  });
  return page;
}
