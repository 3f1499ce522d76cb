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
 * `www/static` and `pkg/`. Extra flags (profile, lifetimes, test mode) go in `args`.
 */
export function startServer(args = []) {
  return spawnListening(serverBinary, [
    "--addr", "127.0.0.1:0",
    "--db", ":memory:",
    "--static-dir", join(repoRoot, "www", "static"),
    "--pkg-dir", join(repoRoot, "pkg"),
    ...args,
  ]);
}

/** Launches headless Debian Chromium (never a downloaded browser). */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: chromiumArgs,
  });
}

/**
 * Opens a page that fails the test on any uncaught page error or console error, unless the test
 * expects it (`allowConsoleErrors`).
 */
export async function openPage(context, url, { allowConsoleErrors = false } = {}) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !allowConsoleErrors) problems.push(`console: ${message.text()}`);
  });
  page.problems = problems;
  await page.goto(url);
  return page;
}
