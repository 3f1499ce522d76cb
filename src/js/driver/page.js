// Page events the driver listens to (src/browser/page.rs is the Rust twin): wake-ups (visible
// again, focus, online, restored from the back-forward cache), because timers stall while a
// laptop sleeps or a tab sits in the background, and other tabs' writes to localStorage.

/** Listens for wake-ups (`onWake()`) and, with a `storageKey`, for other tabs' localStorage
 *  writes to it (`onStorage(value | null)`). Returns a function that stops listening. Outside a
 *  window (Node, workers) there is nothing to listen to. */
function listenToPage(onWake, storageKey, onStorage) {
  const removers = [];
  const listen = (target, type, handler) => {
    target.addEventListener(type, handler);
    removers.push(() => target.removeEventListener(type, handler));
  };
  const stop = () => removers.forEach((remove) => remove());
  if (typeof Window !== "function" || !(globalThis instanceof Window)) return stop;
  const page = globalThis;
  for (const type of ["focus", "online", "pageshow"]) listen(page, type, () => onWake());
  const document = page.document;
  if (document) {
    listen(document, "visibilitychange", () => {
      if (document.visibilityState === "visible") onWake();
    });
  }
  let local = null;
  try {
    local = storageKey === null ? null : page.localStorage;
  } catch {
    // Storage that cannot be reached cannot be watched either.
  }
  if (local) {
    listen(page, "storage", (event) => {
      // Only this window's localStorage counts: the same event reports sessionStorage changes
      // made in other frames of the tab (an iframe's `sessionStorage.clear()` is no sign-out).
      if (event.storageArea !== local) return;
      // `key` is null when another tab called `localStorage.clear()`: a removal.
      if (event.key === storageKey) onStorage(event.newValue);
      else if (event.key === null) onStorage(null);
    });
  }
  return stop;
}
