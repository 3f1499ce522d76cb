// The public `AuthClient` of the npm package: API calls and the outside world go to the wasm
// core (`Core`), and its effects are carried out here, in order (src/browser/client.rs is the
// Rust twin; src/logic/session/mod.rs says what each effect means).
//
// Effects run from one queue, one at a time: a custom storage may be asynchronous, and running
// each list to completion before the next keeps the core's order (storage written → lock
// released → I/O started → listeners told → callers settled) even when a listener calls back
// into the client. An effect that needs no waiting runs without yielding, as in the Rust driver.

/** How long a refresh waits for another tab's lock before going ahead without it. */
const LOCK_MAX_WAIT = 5000;

/** The error codes of failures that may pass (what AuthError::is_retryable says in Rust). */
const RETRYABLE = ["network", "server", "rate_limited"];

/** The most origins whose `apiOrigins` verdict `fetch()` remembers. */
const ORIGIN_CACHE_SIZE = 64;

/** The origin of the page (or worker); "null" where there is none (Node). */
function pageOrigin() {
  try {
    const origin = globalThis.location?.origin;
    return typeof origin === "string" ? origin : "null";
  } catch {
    return "null";
  }
}

/** `url` resolved against the page as `fetch` resolves it, without query; null if invalid. */
function endpointUrl(url) {
  try {
    const base = globalThis.location?.href;
    return withoutQuery((typeof base === "string" ? new URL(url, base) : new URL(url)).href);
  } catch {
    return null;
  }
}

/** The `config` error of a `dpop` option that cannot be honoured, or null. DPoP never falls back
 *  to bearer tokens: an app that asked for it gets an error instead. */
function dpopProblem(option, inMemory) {
  if (option === undefined || option === null || option === false) return null;
  if (option !== true) return new AuthError("config", "option `dpop`: expected a boolean");
  const missing = dpopUnsupported(inMemory);
  return missing ? new AuthError("config", `dpop: true needs ${missing}, which this environment lacks; tokenkeeper does not fall back to bearer tokens`) : null;
}

/** The message of a thrown AuthError (or of anything else thrown, by its name). */
function messageOf(error) {
  return typeof error?.message === "string" ? error.message : errorName(error);
}

/** Calls an app's listener; one that throws does not stop the others. */
function callListener(listener, event, session) {
  try {
    listener(event, session);
  } catch (error) {
    console.error("tokenkeeper: an onAuthStateChange listener threw:", error);
  }
}

/**
 * Logs in, keeps tokens fresh and logs out against one JWT auth API.
 *
 * ```js
 * const client = new AuthClient({ baseUrl: "https://api.example.com" });
 * client.onAuthStateChange((event, session) => console.log(event, session?.claims.sub));
 * await client.login("alice@example.com", "correct horse");
 * const response = await client.fetch("https://api.example.com/dashboard");
 * ```
 */
export class AuthClient {
  #core;
  #store;
  #key;
  /** Effects not yet carried out, run one at a time, in order. */
  #jobs = [];
  #pumping = false;
  /** Pending calls: id → { resolve, reject }. */
  #calls = new Map();
  #nextCall = 1;
  /** Cross-tab locks held: id → { guard, read }, `read` being what storage held under it. */
  #locks = new Map();
  #timer;
  #listeners = [];
  #nextListener = 1;
  #stopListening;
  #tabs = null;
  /** The login and refresh URLs, absolute, without query: `fetch()` never sends the token there. */
  #tokenEndpoints;
  /** What `fetch()` learnt of origins: origin → may it carry the token. */
  #origins = new Map();
  #pageOrigin;
  /** `tokenErrorStatuses`: the statuses that refuse a token (401 among them). */
  #refusals;
  #disposed = false;
  #freed = false;
  /** The DPoP prover (dpop.js), with `dpop: true`. */
  #dpop = null;

  /**
   * Creates a client and restores a stored session (synchronously for `"local"`, `"session"`
   * and `"memory"` storage). Throws an `AuthError` with code `"config"` on bad options.
   */
  constructor(options) {
    let storageOption;
    let dpopOption;
    let rest = options;
    if (typeof options === "object" && options !== null) {
      try {
        storageOption = options.storage;
      } catch {
        // A getter that throws gives no storage: the default.
      }
      // The core reads the rest: the storage adapter is an object JSON cannot carry, and DPoP
      // is this driver's (its key and proofs; the core learns which tokens are bound from them).
      try {
        rest = Object.assign({}, options);
      } catch (error) {
        // A getter or Proxy trap that throws: a bad option, not a crash.
        throw new AuthError("config", `the options could not be read (${errorName(error)})`);
      }
      dpopOption = rest.dpop;
      delete rest.storage;
      delete rest.dpop;
    }
    let choice;
    let choiceError;
    try {
      choice = storageChoice(storageOption);
    } catch (error) {
      choiceError = error;
    }
    const { store, warning } = choiceError ? { store: memoryStore() } : openStore(choice);
    // The core checks the other options first, so their errors come before a bad `storage`'s;
    // it decides about cross-tab locking from the storage in use, after any fallback.
    const origin = pageOrigin();
    let core;
    try {
      core = new Core(rest, store.kind, origin, Math.random() * Number.MAX_SAFE_INTEGER);
    } catch (error) {
      // The core's own refusals are AuthErrors; anything else was thrown by the options
      // themselves while the core read them (a getter or a Proxy trap deep inside).
      throw error instanceof AuthError ? error : new AuthError("config", `the options could not be read (${errorName(error)})`);
    }
    const dpopError = choiceError ?? dpopProblem(dpopOption, store.kind === "memory");
    if (dpopError) {
      core.free();
      throw dpopError;
    }
    if (warning) warn(warning);
    this.#core = core;
    this.#store = store;
    const { storageKey, tokenStatuses, tokenEndpoints } = core.settings();
    this.#key = storageKey;
    if (dpopOption) this.#dpop = new DpopProver(this.#key, store.kind === "memory");
    this.#pageOrigin = origin;
    this.#refusals = tokenStatuses;
    this.#tokenEndpoints = tokenEndpoints.map(endpointUrl).filter((url) => url !== null);
    const changed = (stored) => this.#dispatch("storageChanged", stored);
    this.#stopListening = listenToPage(() => this.#dispatch("tick"), store.kind === "local" ? this.#key : null, changed);
    if (this.#isShared()) this.#tabs = openTabChannel(this.#key, changed);
    // Web and memory storage answer at once, so `session()` is right when this returns. A
    // custom adapter is read in the background; calls made meanwhile wait inside the core.
    settle(
      () => store.get(this.#key),
      (stored) => this.#start(stored, null),
      (error) => this.#start(null, messageOf(error)),
    );
  }

  /**
   * Logs in with a username (or email) and password; resolves with the session. A later
   * `login()` or `logout()` made before the reply replaces it: it then rejects with
   * `not_authenticated`.
   */
  login(username, password) {
    if (typeof username !== "string" || typeof password !== "string") {
      return Promise.reject(new AuthError("config", "login() needs the username and the password as strings"));
    }
    return this.#call("login", username, password);
  }

  /** Refreshes now. Concurrent calls share one request. */
  refresh() {
    return this.#call("refresh");
  }

  /**
   * Logs out: the server's logout endpoint when there is one; local state is cleared even
   * when that call fails.
   */
  logout() {
    const done = this.#call("logout");
    // DPoP: the key goes with the session, whatever the server said; the next login makes a new one.
    if (!this.#dpop) return done.then(() => undefined);
    const removeKey = () => this.#dpop.remove().catch((error) => warn(`the DPoP key could not be deleted (${errorName(error)})`));
    return done.then(
      () => removeKey(),
      (error) => removeKey().then(() => Promise.reject(error)),
    );
  }

  /** The access token, refreshed first when expiring; `null` when signed out. */
  getAccessToken() {
    const token = this.#readyToken();
    return token ? Promise.resolve(token) : this.#call("getAccessToken");
  }

  /**
   * `fetch` with the bearer token for configured origins; on 401 refreshes once and replays
   * once. Resolves with the `Response` for any status; rejects with `AuthError` `"network"`
   * when no response came.
   */
  fetch(input, init) {
    let request;
    try {
      request = buildRequest(input, init);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#mayCarryToken(request)) return sendAppRequest(request);
    // The common case, a fresh token in hand, goes out without a trip through the core.
    const token = this.#readyToken();
    return token ? this.#sendWithToken(request, token) : this.#fetchWithSession(request);
  }

  /** GETs the `me` endpoint with the token; resolves with its JSON. */
  me() {
    return this.#call("me");
  }

  /** The current session, or `null`. */
  session() {
    return this.#core.session();
  }

  /** Whether there is a session whose access token has not expired. */
  isAuthenticated() {
    return this.#core.isAuthenticated();
  }

  /** The access token's claims (no signature check: for the UI only), or `null`. */
  claims() {
    return this.#core.claims();
  }

  /** When the access token expires, in milliseconds since the epoch, or `null`. */
  expiresAt() {
    return this.#core.expiresAt();
  }

  /** Whether the token carries `role` (UI decisions only; the server decides access). */
  hasRole(role) {
    return this.#core.hasRole(role);
  }

  /** Whether the token carries at least one of `roles`. */
  hasAnyRole(roles) {
    return this.#core.hasAnyRole(roles);
  }

  /** Whether the token carries every one of `roles`. */
  hasAllRoles(roles) {
    return this.#core.hasAllRoles(roles);
  }

  /**
   * Calls `listener(event, session)` on every auth event; `INITIAL_SESSION` comes first, a
   * microtask after subscribing. A listener that throws does not stop the others. Returns a
   * function that unsubscribes.
   */
  onAuthStateChange(listener) {
    // Checked now: a listener that is not a function would only fail later, on each event.
    if (typeof listener !== "function") throw new AuthError("config", "onAuthStateChange() needs a function");
    const id = this.#nextListener++;
    // `ready` once INITIAL_SESSION was delivered: no other event may reach the listener first.
    this.#listeners.push({ id, ready: false, listener });
    this.#dispatch("subscribe", id);
    return () => {
      this.#listeners = this.#listeners.filter((entry) => entry.id !== id);
    };
  }

  /**
   * A snapshot for debugging: phase, expiry, next refresh, last error, clock offset and
   * refresh count.
   */
  getDiagnostics() {
    const diagnostics = this.#core.diagnostics();
    // The key's thumbprint (RFC 7638), never the key; null until a proof needed the key.
    diagnostics.dpop = this.#dpop ? { bound: this.#core.dpopBound(), thumbprint: this.#dpop.thumbprint } : null;
    return diagnostics;
  }

  /**
   * Stops timers and listeners and rejects pending calls (`config`); the stored session stays.
   * A call whose outcome was already decided, such as the `login()` that a `SIGNED_IN`
   * listener calling `dispose()` hears about, keeps it.
   */
  dispose() {
    if (this.#disposed) return;
    this.#disposed = true;
    clearTimeout(this.#timer);
    this.#stopListening();
    this.#tabs?.close();
    this.#tabs = null;
    this.#listeners = [];
    const jobs = this.#jobs.splice(0);
    for (const { guard } of this.#locks.values()) guard.release();
    this.#locks.clear();
    // Calls the core has already settled keep their outcome: a `dispose()` from a `SIGNED_IN`
    // listener runs before the `login()` it reports is resolved (listeners come first).
    for (const job of jobs) if (job.kind === "complete") this.#settleCall(job);
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    for (const { reject } of calls) reject(new AuthError("config", "the client was disposed before the call finished"));
  }

  /** Disposes of the client and frees its wasm memory; the client cannot be used after it. */
  free() {
    this.dispose();
    if (!this.#freed) this.#core.free();
    this.#freed = true;
  }

  #isShared() {
    return this.#store.kind === "local" || this.#store.kind === "custom";
  }

  #readyToken() {
    return this.#disposed ? undefined : this.#core.readyAccessToken();
  }

  /** Starts the core with what storage holds (and the calls that waited for it). */
  #start(stored, error) {
    if (this.#disposed) return;
    this.#dispatch("start", stored, error);
    // A stored value that could not be read or was garbage has been dropped: say so once (the
    // message names the rule that failed, never the stored text).
    const warning = this.#core.startWarning();
    if (warning) warn(warning);
  }

  /** Feeds one event to the core and queues its effects. */
  #dispatch(event, ...args) {
    if (this.#disposed) return;
    this.#jobs.push(...this.#core[event](...args));
    if (!this.#pumping) {
      this.#pumping = true;
      queueMicrotask(() => this.#pump());
    }
  }

  /** Starts a call: registers its settlement under a fresh id and feeds the event. */
  #call(event, ...args) {
    return new Promise((resolve, reject) => {
      if (this.#disposed) {
        reject(new AuthError("config", "the client was disposed before the call finished"));
        return;
      }
      const op = this.#nextCall++;
      this.#calls.set(op, { resolve, reject });
      this.#dispatch(event, op, ...args);
    });
  }

  async #pump() {
    while (this.#jobs.length) {
      const job = this.#jobs.shift();
      if (this.#disposed) continue;
      const pending = this.#execute(job);
      if (pending) await pending;
    }
    this.#pumping = false;
  }

  /** Carries out one effect; returns a promise when the next must wait for it. */
  #execute(job) {
    switch (job.kind) {
      case "persist":
        return this.#write(job.value);
      case "clear":
        return this.#write(null);
      case "release": {
        const held = this.#locks.get(job.lock);
        this.#locks.delete(job.lock);
        held?.guard.release();
        return;
      }
      case "send":
        this.#sendCoreRequest(job).then(
          (reply) => this.#dispatch("response", job.request, reply.status, reply.contentType, reply.body, reply.retryAfter, reply.date),
          (error) => {
            // Anything but an exchange error would be a bug here: still no response, never a hang.
            const known = typeof error?.code === "string";
            const message = known ? error.message : `${job.endpoint} request failed (${errorName(error)})`;
            this.#dispatch("failed", job.request, known ? error.code : "network", message, known ? error.status : undefined);
          },
        );
        return;
      case "acquire":
        this.#acquire(job.lock);
        return;
      case "schedule": {
        clearTimeout(this.#timer);
        const delay = Math.min(Math.max(job.at - Date.now(), 0), MAX_TIMER_DELAY);
        this.#timer = setTimeout(() => this.#dispatch("tick"), delay);
        return;
      }
      case "cancel":
        clearTimeout(this.#timer);
        return;
      case "emit":
        // The session ended here or in another tab: its key may be gone; load it afresh.
        if (this.#dpop && job.session === null) this.#dpop.forget();
        for (const entry of this.#listeners.filter((entry) => entry.ready)) callListener(entry.listener, job.event, job.session);
        return;
      case "initial": {
        // Unsubscribed before delivery: nothing to greet.
        const entry = this.#listeners.find((entry) => entry.id === job.listener);
        if (!entry) return;
        entry.ready = true;
        callListener(entry.listener, "INITIAL_SESSION", job.session);
        return;
      }
      case "complete":
        this.#settleCall(job);
    }
  }

  /** Settles a call with the core's answer (its caller may have stopped waiting). */
  #settleCall(job) {
    const call = this.#calls.get(job.op);
    if (!call) return;
    this.#calls.delete(job.op);
    if ("error" in job) call.reject(job.error);
    else call.resolve(job.value);
  }

  /** Writes `value` to storage (null: removes it), then tells the other tabs. */
  #write(value) {
    return settle(
      () => (value === null ? this.#store.remove(this.#key) : this.#store.set(this.#key, value)),
      () => {
        const marking = this.#markReplaced(value);
        return marking ? marking.then(() => this.#announce(value)) : this.#announce(value);
      },
      (error) => {
        warn(messageOf(error));
        this.#dispatch("storageFailed", messageOf(error));
      },
    );
  }

  /** After a write made while holding the cross-tab lock: marks the value it replaced, so the
   *  next holder does not act on a stale copy of it (tabs.js). */
  #markReplaced(written) {
    const replaced = [];
    for (const held of this.#locks.values()) {
      if (held.read !== null && held.read !== written) replaced.push(held.read);
      held.read = written;
    }
    if (replaced.length) return Promise.all(replaced.map((value) => markReplaced(this.#key, value)));
  }

  /** Tells the other tabs what shared storage now holds (nothing once it fell back to memory). */
  #announce(value) {
    if (this.#isShared()) this.#tabs?.announce(value);
  }

  /** Takes the cross-tab lock, reads storage under it and tells the core. */
  async #acquire(lock) {
    const guard = await acquireLock(channelName(this.#key), LOCK_MAX_WAIT);
    // Re-read under the lock: another tab may have refreshed meanwhile (and its write may still
    // be on its way here).
    const read = this.#disposed ? {} : await readUnderLock(this.#store, this.#key);
    if (this.#disposed) {
      guard.release();
      return;
    }
    const stored = "error" in read ? null : read.stored;
    this.#locks.set(lock, { guard, read: stored });
    this.#dispatch("lockAcquired", lock, stored, "error" in read ? messageOf(read.error) : null);
  }

  /** Whether `fetch()` attaches the token to `request`: an allowed origin (`apiOrigins`, the
   *  origin of `baseUrl`), not the login or refresh endpoint, and no `Authorization` header of
   *  its own (a header the caller set wins, and its 401 is not the session's to answer). */
  #mayCarryToken(request) {
    let own = true;
    try {
      own = request.headers.has("Authorization");
    } catch {
      // Headers that cannot be read cannot be given a token either.
    }
    if (own) return false;
    const url = request.url;
    const origin = serializedOrigin(url);
    let allowed = this.#origins.get(origin);
    if (allowed === undefined) {
      allowed = this.#core.allowsOrigin(origin, this.#pageOrigin);
      if (this.#origins.size >= ORIGIN_CACHE_SIZE) this.#origins.clear();
      this.#origins.set(origin, allowed);
    }
    return allowed && !this.#tokenEndpoints.includes(withoutQuery(url));
  }

  /** `fetch()` once the token may need work: wait for it (a refresh, another tab's lock). */
  async #fetchWithSession(request) {
    let token = null;
    try {
      token = await this.getAccessToken();
    } catch (error) {
      // No usable token and no network to get one: nothing can be sent.
      if (RETRYABLE.includes(error?.code)) throw error;
      // The session ended (the refresh token was refused): the request goes out without a
      // token and the server answers it.
    }
    return token ? this.#sendWithToken(request, token) : sendAppRequest(request);
  }

  /** Sends a copy of `request` with `token`; on a refusal (`tokenErrorStatuses`) replays it once
   *  with a newer token (refreshing once if none is in hand), else resolves with the refusal. */
  #sendWithToken(request, token) {
    const send = (token) => (this.#dpop && this.#core.dpopBound() ? this.#sendWithProof(request, token) : sendAppRequest(withToken(request, token)));
    let sent;
    try {
      sent = send(token);
    } catch (error) {
      return Promise.reject(error);
    }
    return sent.then(async (response) => {
      if (!this.#refusals.includes(response.status)) return response;
      let fresh = null;
      try {
        fresh = await this.#call("tokenRejected", token);
      } catch {
        // No newer token: the caller gets the refusal itself.
      }
      return typeof fresh === "string" ? send(fresh) : response;
    });
  }

  /** Sends a copy of `request` with a DPoP-bound `token` and a fresh proof; a `use_dpop_nonce`
   *  answer (or a refused proof from a clock that was off) gets one retry with a new proof. */
  #sendWithProof(request, token) {
    return this.#dpop.send(
      request.method,
      request.url,
      token,
      (proof) => sendAppRequest(withToken(request, token, "DPoP", proof)),
      (response) => ({
        status: response.status,
        nonce: response.headers.get("DPoP-Nonce"),
        date: response.headers.get("Date"),
        challenge: response.headers.get("WWW-Authenticate") ?? "",
      }),
      (error) => new AuthError("network", `no DPoP proof could be made (${errorName(error)})`),
    );
  }

  /** Sends one request of the core; with DPoP, with a proof (bound to the access token that
   *  request carries as `DPoP`), and with one retry for a new nonce or a corrected clock. */
  #sendCoreRequest(job) {
    if (!this.#dpop) return sendCoreRequest(job);
    const authorization = job.headers.find(([name]) => name.toLowerCase() === "authorization")?.[1];
    const token = authorization?.startsWith("DPoP ") ? authorization.slice(5) : undefined;
    return this.#dpop.send(
      job.method,
      job.url,
      token,
      (proof) => sendCoreRequest(job, [["DPoP", proof]]),
      (reply) => reply,
      (error) => exchangeError("network", `${job.endpoint} request had no DPoP proof (${errorName(error)})`),
    );
  }
}

if (typeof Symbol.dispose === "symbol") AuthClient.prototype[Symbol.dispose] = AuthClient.prototype.free;
