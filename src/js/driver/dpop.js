// DPoP (RFC 9449), option `dpop: true`: the session's tokens are bound to a key pair this
// browser cannot export, and every request that carries them (and every login and refresh)
// carries a fresh proof signed with it. The core decides which tokens are bound (a
// `token_type: "DPoP"` reply, or `cnf.jkt` in the token) and sends them as `Authorization:
// DPoP`; this file keeps the key, makes the proofs, and keeps the server's nonces.
//
// - The key: WebCrypto ECDSA P-256, generated non-extractable, kept in IndexedDB under the
//   storage key so that the tabs sharing a session share it and a reload keeps it (created under
//   a Web Lock, so two tabs never make two); in memory only with `storage: "memory"`. `logout()`
//   deletes it; the next login makes a new one.
// - The proof (section 4.2): `typ: "dpop+jwt"`, `alg: "ES256"`, the public `jwk`; claims `jti`,
//   `htm`, `htu` (no query, no fragment), `iat` on the server's clock as the last `Date` header
//   showed it, `ath` with an access token, `nonce` when the server gave one.
// - Nonces (section 8): the last `DPoP-Nonce` of each origin. A `use_dpop_nonce` answer (400 at a
//   token endpoint, 401 with `WWW-Authenticate` elsewhere) is retried once with the new nonce, and
//   so is a refused proof whose reply shows our clock was off: one retry, never a loop.

const DPOP_DATABASE = "tokenkeeper-dpop";
const DPOP_KEYS = "keys";
/** How far our estimate of the server's clock may move before a refused proof is retried. */
const DPOP_CLOCK_RETRY_MS = 10000;

/** Unpadded base64url of bytes. */
function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const utf8 = (text) => new TextEncoder().encode(text);

/** base64url(SHA-256(text)): `ath` of an access token, and a JWK thumbprint (RFC 7638). */
async function sha256(text) {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(text))));
}

/** Why DPoP cannot run here, or null: it needs WebCrypto (a secure context), and IndexedDB
 *  unless the key lives in memory. */
function dpopUnsupported(inMemory) {
  if (!globalThis.crypto?.subtle) return "WebCrypto (crypto.subtle, a secure context)";
  if (!inMemory && typeof indexedDB === "undefined") return "IndexedDB";
  return null;
}

/** Runs `operation(store)` in one IndexedDB transaction; resolves with its request's result. */
function withKeyStore(mode, operation) {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DPOP_DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(DPOP_KEYS);
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const database = opening.result;
      let request;
      try {
        const transaction = database.transaction(DPOP_KEYS, mode);
        request = operation(transaction.objectStore(DPOP_KEYS));
        transaction.oncomplete = () => {
          database.close();
          resolve(request.result);
        };
        transaction.onerror = transaction.onabort = () => {
          database.close();
          reject(transaction.error);
        };
      } catch (error) {
        database.close();
        reject(error);
      }
    };
  });
}

/** The DPoP side of one client: its key, the servers' nonces, the server clock. */
class DpopProver {
  #storageKey;
  #inMemory;
  /** The key in use: a promise of `{ privateKey, jwk, thumbprint }`. */
  #key;
  /** The thumbprint of the key in use, once known (for getDiagnostics). */
  thumbprint = null;
  /** origin → the last `DPoP-Nonce` it sent. */
  #nonces = new Map();
  /** The server's clock minus ours, from the last readable `Date` header. */
  #offset = 0;

  constructor(storageKey, inMemory) {
    this.#storageKey = storageKey;
    this.#inMemory = inMemory;
  }

  /** Forgets the key in use (the session ended): the next proof loads or makes the current one. */
  forget() {
    this.#key = undefined;
    this.thumbprint = null;
  }

  /** Deletes the key (logout): the next login makes a new one. */
  async remove() {
    this.forget();
    if (!this.#inMemory) await withKeyStore("readwrite", (store) => store.delete(this.#storageKey));
  }

  #loadKey() {
    this.#key ??= this.#findOrMakeKey().then(
      async (pair) => {
        const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
        const jwk = { kty, crv, x, y };
        // RFC 7638: the required members, in lexicographic order, no white space.
        const thumbprint = await sha256(JSON.stringify({ crv, kty, x, y }));
        this.thumbprint = thumbprint;
        return { privateKey: pair.privateKey, jwk, thumbprint };
      },
      (error) => {
        this.#key = undefined;
        throw error;
      },
    );
    return this.#key;
  }

  async #findOrMakeKey() {
    const make = () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    if (this.#inMemory) return make();
    // Under a lock, so that tabs starting together agree on one key.
    const guard = await acquireLock(`${channelName(this.#storageKey)}:dpop`, LOCK_MAX_WAIT);
    try {
      const stored = await withKeyStore("readonly", (store) => store.get(this.#storageKey));
      if (stored?.privateKey && stored?.publicKey) return stored;
      const made = await make();
      await withKeyStore("readwrite", (store) => store.put(made, this.#storageKey));
      return made;
    } finally {
      guard.release();
    }
  }

  /** A proof for `method` on `target` (a URL); with `accessToken`, bound to it (`ath`). */
  async #proof(method, target, accessToken) {
    const key = await this.#loadKey();
    const claims = {
      jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
      htm: method,
      htu: target.origin + target.pathname,
      iat: Math.floor((Date.now() + this.#offset) / 1000),
    };
    if (accessToken) claims.ath = await sha256(accessToken);
    const nonce = this.#nonces.get(target.origin);
    if (nonce) claims.nonce = nonce;
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: key.jwk };
    const input = `${base64url(utf8(JSON.stringify(header)))}.${base64url(utf8(JSON.stringify(claims)))}`;
    // WebCrypto's ECDSA signature is r || s, exactly what JWS ES256 wants.
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, utf8(input));
    return `${input}.${base64url(new Uint8Array(signature))}`;
  }

  /** Sends `method` `url` with a fresh proof (bound to `token` when given): `send(proof)`
   *  resolves with a reply, `describe(reply)` says `{ status, nonce, date, challenge, body }` of
   *  it, and `unprovable(error)` is what to throw when no proof can be made (no key). One retry,
   *  with a new proof, when the server asked for a new nonce or showed that our clock was off. */
  async send(method, url, token, send, describe, unprovable) {
    // Parsed once per request: the proof's `htu` and the origin the nonces are kept under.
    let target;
    try {
      target = new URL(url, globalThis.location?.href);
    } catch (error) {
      throw unprovable(error);
    }
    for (let attempt = 1; ; attempt++) {
      const before = this.#state(target.origin);
      let proof;
      try {
        proof = await this.#proof(method, target, token);
      } catch (error) {
        throw unprovable(error);
      }
      const reply = await send(proof);
      const seen = describe(reply);
      this.#learn(target.origin, seen.nonce, seen.date);
      if (attempt > 1 || !this.#retries(seen, before, target.origin)) return reply;
    }
  }

  /** What the proofs for `origin` depend on now, to tell afterwards whether a retry can help. */
  #state(origin) {
    return { nonce: this.#nonces.get(origin), offset: this.#offset };
  }

  /** Learns from a reply from `origin`: its `DPoP-Nonce`, and the server's clock from `Date`. */
  #learn(origin, nonce, date) {
    if (nonce) this.#nonces.set(origin, nonce);
    const serverTime = date ? Date.parse(date) : NaN;
    if (Number.isFinite(serverTime)) {
      const offset = serverTime - Date.now();
      // `Date` has whole seconds: keep the old estimate while it agrees within them.
      if (Math.abs(offset - this.#offset) > 1500) this.#offset = offset;
    }
  }

  /** Whether a reply refusing a proof made in state `before` deserves its one retry: the server
   *  asked for a (new) nonce, or refused the proof and showed our clock was off. */
  #retries(reply, before, origin) {
    const { status, challenge = "", body = "" } = reply;
    const asked = (error) => challenge.includes(`"${error}"`) || (status === 400 && body.includes(`"${error}"`));
    if (status !== 400 && status !== 401) return false;
    const now = this.#state(origin);
    if (asked("use_dpop_nonce")) return now.nonce !== undefined && now.nonce !== before.nonce;
    return asked("invalid_dpop_proof") && Math.abs(now.offset - before.offset) > DPOP_CLOCK_RETRY_MS;
  }
}
