// Test instrumentation (loaded for `#leak` and `?probe` only): counts, in `window.__probe`, the
// clients that subscribed, the listeners still live (unsubscribed or disposed with their client
// ends one), every subscribe call and every dispose. It wraps the prototype, so it sees the
// clients that tokenkeeper/react creates as well as the app's own.
import { AuthClient } from "tokenkeeper";

const probe = (window.__probe = { clients: 0, live: 0, subscribes: 0, disposed: 0 });
const liveOf = new WeakMap(); // client -> Set of its live listeners
const { onAuthStateChange, dispose } = AuthClient.prototype;

AuthClient.prototype.onAuthStateChange = function (listener) {
  if (!liveOf.has(this)) {
    liveOf.set(this, new Set());
    probe.clients += 1;
  }
  const unsubscribe = onAuthStateChange.call(this, listener);
  const token = {};
  liveOf.get(this).add(token);
  probe.subscribes += 1;
  probe.live += 1;
  return () => {
    if (liveOf.get(this).delete(token)) probe.live -= 1;
    unsubscribe();
  };
};

AuthClient.prototype.dispose = function () {
  const live = liveOf.get(this);
  if (live !== undefined) {
    probe.live -= live.size; // dispose() drops the client's listeners
    live.clear();
  }
  probe.disposed += 1;
  return dispose.call(this);
};
