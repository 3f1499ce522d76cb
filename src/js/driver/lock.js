// The cross-tab lock around "send the refresh, store the result" (src/browser/lock.rs is the
// Rust twin, and its module docs explain the design).
//
// - `acquireLock` takes the exclusive Web Lock of that name. The wait is bounded: after
//   `maxWait` the pending request is withdrawn (AbortSignal) and the caller goes ahead without
//   the lock, so a hung tab cannot block the others forever.
// - Without Web Locks (old browsers, insecure contexts, Node before it had them) or when the
//   request is refused (opaque origins), the caller goes ahead at once: re-reading storage before
//   sending, and the server's grace window for a just-rotated refresh token, keep tabs signed in.
// - `holdLockFor` and `heldLockNames` carry the "replaced value" markers of tabs.js.

/** A guard that holds nothing: the caller proceeds without the lock. */
const NO_LOCK = { exclusive: false, release() {} };

/** `navigator.locks`, where it exists and can be asked. */
function lockManager() {
  try {
    const locks = globalThis.navigator?.locks;
    return typeof locks?.request === "function" ? locks : null;
  } catch {
    return null;
  }
}

/** Resolves with `{ exclusive, release() }` once the lock `name` is held, or with NO_LOCK after
 *  `maxWait` milliseconds or where there are no Web Locks. */
function acquireLock(name, maxWait) {
  const locks = lockManager();
  if (!locks) return Promise.resolve(NO_LOCK);
  return new Promise((resolve) => {
    let controller;
    try {
      controller = new AbortController();
    } catch {
      return resolve(NO_LOCK);
    }
    let waiting = true;
    const timer = setTimeout(() => {
      waiting = false;
      controller.abort();
      resolve(NO_LOCK);
    }, maxWait);
    const granted = () => {
      let release;
      const held = new Promise((done) => (release = done));
      if (waiting) {
        waiting = false;
        clearTimeout(timer);
        resolve({ exclusive: true, release });
      } else {
        // Granted after the wait was given up (or the signal was ignored): release at once.
        release();
      }
      return held;
    };
    let request;
    try {
      request = locks.request(name, { mode: "exclusive", signal: controller.signal }, granted);
    } catch {
      waiting = false;
      clearTimeout(timer);
      return resolve(NO_LOCK);
    }
    // Refused (an opaque origin) or aborted: go ahead without the lock.
    Promise.resolve(request).catch(() => {
      if (waiting) {
        waiting = false;
        clearTimeout(timer);
        resolve(NO_LOCK);
      }
    });
  });
}

/** Holds the lock `name` for `duration` milliseconds, once it was granted (within a second).
 *  Resolves when it is held, or when it could not be had. */
async function holdLockFor(name, duration) {
  const guard = await acquireLock(name, 1000);
  if (guard.exclusive) setTimeout(guard.release, duration);
}

/** The names of the Web Locks held now, by any tab of the origin (none without Web Locks). */
async function heldLockNames() {
  const locks = lockManager();
  try {
    const snapshot = await locks?.query();
    const held = snapshot?.held;
    return Array.isArray(held) ? held.map((info) => info?.name).filter((name) => typeof name === "string") : [];
  } catch {
    return [];
  }
}
