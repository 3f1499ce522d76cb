// Cross-tab messages (src/browser/tabs.rs is the Rust twin, and its module docs explain why).
//
// After each write or removal, the driver posts what storage now holds (the stored string, or
// null) on the BroadcastChannel "tokenkeeper:<storageKey>"; receivers feed it to the core as a
// storage change. A channel never delivers to the object that posted, so a tab does not hear
// itself; with localStorage a change may also arrive as a `storage` event, and the core treats a
// repeat as no news. Where BroadcastChannel is missing, `storage` events still carry
// localStorage's changes.
//
// Reading under the lock: other tabs' writes reach this tab asynchronously, and may arrive after
// the lock is granted. A tab that writes under the lock first marks the value it replaced (a Web
// Lock named after the value's fingerprint, held MARKER_HOLD); the next holder that reads a
// marked value reads again, for at most STALE_READ_LIMIT, so it never sends a refresh token the
// previous holder has just spent.

/** How long a "replaced" marker is held: twice the longest wait for the refresh lock. */
const MARKER_HOLD = 10000;
/** How long a read under the lock waits for a marked value to be replaced. */
const STALE_READ_LIMIT = 1000;
/** The pause between two reads of a value known to be stale. */
const STALE_READ_POLL = 5;

/** The BroadcastChannel of `storageKey` (the refresh lock has the same name). */
function channelName(storageKey) {
  return `tokenkeeper:${storageKey}`;
}

/** The 64-bit FNV-1a fingerprint of a stored value's UTF-8 bytes, in hex (as the Rust driver
 *  computes it): it names the value in a lock name without revealing it. */
function fingerprint(value) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(value)) {
    hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

/** The prefix of the marker locks of `storageKey`. */
function markerPrefix(storageKey) {
  return `${channelName(storageKey)}:replaced:`;
}

/** Marks `replaced` (read under the lock, now overwritten) for the next lock holder. */
function markReplaced(storageKey, replaced) {
  return holdLockFor(markerPrefix(storageKey) + fingerprint(replaced), MARKER_HOLD);
}

/** Reads `storageKey` right after taking the lock, again while what it finds was marked as
 *  replaced and STALE_READ_LIMIT has not passed. Resolves with `{ stored }` or `{ error }`. */
async function readUnderLock(store, storageKey) {
  const prefix = markerPrefix(storageKey);
  const replaced = (await heldLockNames()).filter((name) => name.startsWith(prefix)).map((name) => name.slice(prefix.length));
  const read = async () => {
    try {
      return { stored: await store.get(storageKey) };
    } catch (error) {
      return { error };
    }
  };
  const isStale = (read) => typeof read.stored === "string" && replaced.includes(fingerprint(read.stored));
  // Bounded on the wall clock (slow reads count) and by the pauses taken (a clock set back
  // meanwhile cannot stretch it): the lock is held all along.
  const started = Date.now();
  let paused = 0;
  let result = await read();
  while (replaced.length && isStale(result) && paused < STALE_READ_LIMIT && Date.now() - started < STALE_READ_LIMIT) {
    await sleep(STALE_READ_POLL);
    paused += STALE_READ_POLL;
    result = await read();
  }
  return result;
}

/** Opens the channel of `storageKey`; `onChange(value | null)` hears what other tabs announce.
 *  Returns `{ announce(value | null), close() }`, or null where BroadcastChannel is missing. */
function openTabChannel(storageKey, onChange) {
  if (typeof BroadcastChannel !== "function") return null;
  let channel;
  try {
    channel = new BroadcastChannel(channelName(storageKey));
  } catch {
    return null;
  }
  channel.onmessage = (event) => {
    const data = event?.data;
    if (data === null || typeof data === "string") onChange(data);
  };
  // Node: the channel alone must not keep the process alive.
  if (typeof channel.unref === "function") channel.unref();
  return {
    announce(value) {
      try {
        channel.postMessage(value ?? null);
      } catch {
        // A closed channel: the `storage` event and the re-read under the lock remain.
      }
    },
    close() {
      channel.onmessage = null;
      channel.close();
    },
  };
}
