// The JavaScript driver of the npm package (src/js/driver/): the I/O shell around the wasm core.
//
// The core (`Core`, src/js/core.rs, the session machine of src/logic) decides everything; these
// files only carry out its effects with the browser's own APIs (fetch, Web Storage, Web Locks,
// BroadcastChannel, timers, page events) and feed what happens back to it. They are the JS twin
// of the Rust driver in src/browser/, which Rust apps use: the same adapters, rule for rule, so
// both behave alike (bench/SIZE-ANALYSIS.md, section 12, says why the package has its own).
//
// scripts/finish-pkg.mjs joins the files, in the order of its DRIVER_FILES list, into one
// function scope inside the package entry, after wasm-bindgen's glue: they share top-level
// names, see the glue's `Core` and `AuthError`, and export only `AuthClient`.

/** The `name` of a thrown value ("TypeError", "AbortError", "QuotaExceededError"), for
 *  messages: unlike its message, a name never quotes a URL or a token. */
function errorName(error) {
  let name;
  try {
    name = error?.name;
  } catch {
    // A getter that throws names nothing.
  }
  if (typeof name === "string" && name.length > 0 && name.length <= 64) return name;
  return error === null ? "a thrown null" : `a thrown ${typeof error}`;
}

/** `typeof`, with `null` called by its name. */
function typeName(value) {
  return value === null ? "null" : typeof value;
}

/** A console warning; its text comes from an AuthError, which never carries a token. */
function warn(message) {
  console.warn(`tokenkeeper: ${message}`);
}

/** `setTimeout` fires at once beyond a signed 32-bit millisecond count. */
const MAX_TIMER_DELAY = 2147483647;

/** A promise that resolves after `ms` milliseconds. */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(ms, 0), MAX_TIMER_DELAY)));
}

/** Calls `operation()` and hands its outcome to `ok` or `fail`: at once when it answers
 *  synchronously (Web Storage, memory), after it settles when it returns a promise (a custom
 *  storage). So a session in localStorage is restored before the constructor returns. */
function settle(operation, ok, fail) {
  let result;
  try {
    result = operation();
  } catch (error) {
    return fail(error);
  }
  return result instanceof Promise ? result.then(ok, fail) : ok(result);
}
