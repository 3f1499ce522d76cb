// Where the session is kept: localStorage, sessionStorage, memory, or the app's own adapter
// (src/browser/storage.rs is the Rust twin; the rules and messages are the same).
//
// - Web Storage that is missing or throws (Safari private mode, disabled cookies, a sandboxed
//   iframe) falls back to memory for this tab, with a warning: the app keeps working.
// - A write that fails (quota) moves the session to memory too, so this tab keeps its session.
// - A custom adapter may be synchronous or return promises; each call is bounded by
//   STORAGE_TIMEOUT, so storage that never answers cannot hang a call or hold the refresh lock.
// Errors are AuthErrors with code "storage" (or "config" for a bad `storage` option) whose
// messages name the operation and the thrown error's `name`, never a stored value.

/** How long a custom storage call may take before it counts as failed. */
const STORAGE_TIMEOUT = 5000;

/** The key written and removed once to check that Web Storage works. */
const PROBE_KEY = "__tokenkeeper_probe__";

const STORAGE_CHOICES = 'storage must be "local", "session", "memory" or an object with getItem, setItem and removeItem';

/** The `storage` option read: "local", "session", "memory", or a custom adapter
 *  `{ get, set, remove }` bound to the app's object. Throws AuthError "config". */
function storageChoice(value) {
  if (value === undefined || value === null) return "local";
  if (typeof value === "string") {
    if (value === "local" || value === "session" || value === "memory") return value;
    throw new AuthError("config", `${STORAGE_CHOICES}, not ${JSON.stringify([...value].slice(0, 40).join(""))}`);
  }
  if (typeof value !== "object" && typeof value !== "function") {
    throw new AuthError("config", `${STORAGE_CHOICES}, not a ${typeName(value)}`);
  }
  const methods = {};
  const missing = [];
  for (const name of ["getItem", "setItem", "removeItem"]) {
    let method;
    try {
      method = value[name];
    } catch (error) {
      // A getter or Proxy trap may throw: that is a bad option, not a crash.
      throw new AuthError("config", `reading storage.${name} threw (${errorName(error)})`);
    }
    if (typeof method === "function") methods[name] = method;
    else missing.push(name);
  }
  if (missing.length) {
    throw new AuthError("config", `a custom storage object needs getItem, setItem and removeItem functions; missing: ${missing.join(", ")}`);
  }
  return customStore(value, methods);
}

/** A store over a Map: per tab, gone on reload. */
function memoryStore(items = new Map()) {
  return {
    kind: "memory",
    get: (key) => items.get(key) ?? null,
    set: (key, value) => void items.set(key, value),
    remove: (key) => void items.delete(key),
  };
}

/** Opens the chosen storage: `{ store, warning }`, where `warning` says why Web Storage fell
 *  back to memory. `store.kind` is "local", "session", "memory" or "custom"; it changes to
 *  "memory" if a write to Web Storage fails. */
function openStore(choice) {
  if (choice === "memory") return { store: memoryStore() };
  if (typeof choice === "object") return { store: choice };
  const name = choice === "local" ? "localStorage" : "sessionStorage";
  const fallback = (why) => ({
    store: memoryStore(),
    warning: `${name} is unavailable (${why}); keeping the session in memory for this tab`,
  });
  let area;
  try {
    area = globalThis[name];
  } catch (error) {
    return fallback(errorName(error));
  }
  if (typeof area !== "object" || area === null) return fallback("not defined here");
  try {
    area.setItem(PROBE_KEY, PROBE_KEY);
    area.removeItem(PROBE_KEY);
  } catch (error) {
    return fallback(errorName(error));
  }
  return { store: webStore(choice, name, area) };
}

/** localStorage or sessionStorage: synchronous. */
function webStore(kind, name, area) {
  const failed = (operation, error) =>
    new AuthError("storage", `could not ${operation} ${name} (${errorName(error)})`);
  const store = {
    kind,
    get(key) {
      try {
        return area.getItem(key);
      } catch (error) {
        throw failed("read", error);
      }
    },
    set(key, value) {
      try {
        area.setItem(key, value);
      } catch (error) {
        // Quota or a storage switched off meanwhile: keep the session in memory for this tab,
        // and leave no older session behind for a reload to bring back.
        try {
          area.removeItem(key);
        } catch {
          // Nothing more can be done with this storage.
        }
        Object.assign(store, memoryStore(new Map([[key, value]])));
        throw new AuthError("storage", `could not write to ${name} (${errorName(error)}); keeping the session in memory for this tab`);
      }
    },
    remove(key) {
      try {
        area.removeItem(key);
      } catch (error) {
        throw failed("remove from", error);
      }
    },
  };
  return store;
}

/** The app's adapter: every call is awaited and bounded by STORAGE_TIMEOUT. */
function customStore(object, methods) {
  const call = (name, ...args) => {
    let returned;
    try {
      returned = methods[name].apply(object, args);
    } catch (error) {
      return Promise.reject(new AuthError("storage", `custom storage ${name} threw (${errorName(error)})`));
    }
    let timer;
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new AuthError("storage", `custom storage ${name} did not settle within the storage timeout`)),
        STORAGE_TIMEOUT,
      );
    });
    const settled = Promise.resolve(returned).then(
      (value) => value,
      (error) => {
        throw new AuthError("storage", `custom storage ${name} rejected (${errorName(error)})`);
      },
    );
    return Promise.race([settled, timedOut]).finally(() => clearTimeout(timer));
  };
  return {
    kind: "custom",
    get: (key) =>
      call("getItem", key).then((value) => {
        if (typeof value === "string") return value;
        // `undefined` too: Map's `get` and many hand-written adapters return it for a missing key.
        if (value === null || value === undefined) return null;
        throw new AuthError("storage", `custom storage getItem returned a value of type ${typeName(value)}, not a string or null`);
      }),
    set: (key, value) => call("setItem", key, value).then(() => undefined),
    remove: (key) => call("removeItem", key).then(() => undefined),
  };
}
