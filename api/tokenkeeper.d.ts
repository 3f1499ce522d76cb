/* tslint:disable */
/* eslint-disable */

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
    free(): void;
    [Symbol.dispose](): void;
    /**
     * The access token's claims (no signature check: for the UI only), or `null`.
     */
    claims(): Record<string, unknown> | null;
    /**
     * Stops timers and listeners and rejects pending calls (`config`); the stored session stays.
     * A call whose outcome was already decided, such as the `login()` that a `SIGNED_IN`
     * listener calling `dispose()` hears about, keeps it.
     */
    dispose(): void;
    /**
     * When the access token expires, in milliseconds since the epoch, or `null`.
     */
    expiresAt(): number | null;
    /**
     * `fetch` with the bearer token for configured origins; on 401 refreshes once and replays
     * once. Resolves with the `Response` for any status; rejects with `AuthError` `"network"`
     * when no response came.
     */
    fetch(input: RequestInfo | URL, init?: RequestInit | null): Promise<Response>;
    /**
     * The access token, refreshed first when expiring; `null` when signed out.
     */
    getAccessToken(): Promise<string | null>;
    /**
     * A snapshot for debugging: phase, expiry, next refresh, last error, clock offset and
     * refresh count.
     */
    getDiagnostics(): Diagnostics;
    /**
     * Whether the token carries every one of `roles`.
     */
    hasAllRoles(roles: string[]): boolean;
    /**
     * Whether the token carries at least one of `roles`.
     */
    hasAnyRole(roles: string[]): boolean;
    /**
     * Whether the token carries `role` (UI decisions only; the server decides access).
     */
    hasRole(role: string): boolean;
    /**
     * Whether there is a session whose access token has not expired.
     */
    isAuthenticated(): boolean;
    /**
     * Logs in with a username (or email) and password; resolves with the session. A later
     * `login()` or `logout()` made before the reply replaces it: it then rejects with
     * `not_authenticated`.
     */
    login(username: string, password: string): Promise<Session>;
    /**
     * Logs out: the server's logout endpoint when there is one; local state is cleared even
     * when that call fails.
     */
    logout(): Promise<void>;
    /**
     * GETs the `me` endpoint with the token; resolves with its JSON.
     */
    me(): Promise<unknown>;
    /**
     * Creates a client and restores a stored session (synchronously for `"local"`, `"session"`
     * and `"memory"` storage). Throws an `AuthError` with code `"config"` on bad options.
     */
    constructor(options: AuthClientOptions);
    /**
     * Calls `listener(event, session)` on every auth event; `INITIAL_SESSION` comes first, a
     * microtask after subscribing. A listener that throws does not stop the others. Returns a
     * function that unsubscribes.
     */
    onAuthStateChange(listener: (event: AuthEvent, session: Session | null) => void): () => void;
    /**
     * Refreshes now. Concurrent calls share one request.
     */
    refresh(): Promise<Session>;
    /**
     * The current session, or `null`.
     */
    session(): Session | null;
}



/** Options of {@link AuthClient}. Only `baseUrl` is required. */
export interface AuthClientOptions {
    /** Origin (and optional path prefix) of the auth API, e.g. `"https://api.example.com"`. */
    baseUrl: string;
    /** Preset for a backend shape; default `"standard"`. The libraries' presets follow their docs. */
    profile?: "standard" | "minimal" | "v1" | "simplejwt" | "flask-jwt-extended" | "fastapi-users";
    /** Override the preset's endpoints; `null` means the server has none. */
    endpoints?: { login?: string; refresh?: string | null; logout?: string | null; me?: string | null };
    /** How login credentials are sent. */
    login?: { encoding?: "form" | "json"; usernameField?: string; passwordField?: string };
    /** How the refresh token is sent: JSON body field, query parameter, HttpOnly cookie, or as the
     *  bearer token (`Authorization: Bearer <refresh token>`, flask-jwt-extended). */
    refresh?: { via?: "json" | "query" | "cookie" | "bearer"; field?: string };
    /** Names of the token fields in login and refresh replies. */
    responseFields?: { accessToken?: string; refreshToken?: string; expiresIn?: string };
    /** Where the session is kept; default `"local"` (shared by tabs). */
    storage?: "local" | "session" | "memory" | TokenStorage;
    /** Storage key (namespace); default `"tokenkeeper"`. */
    storageKey?: string;
    /** Refresh automatically before expiry; default `true`. */
    autoRefresh?: boolean;
    /** Refresh this long before `exp`; default 60, capped at half the token's lifetime. */
    refreshMarginSeconds?: number;
    /** Clock tolerance when judging expiry; default 0. */
    leewaySeconds?: number;
    /** Claim paths holding roles; default `["role", "roles", "realm_access.roles"]`. */
    roleClaims?: string[];
    /** Extra origins `fetch()` may send the token to (the origin of `baseUrl` always may). */
    apiOrigins?: string[];
    /** How `logout()` revokes on the server: one call or several (in order); default one `POST`
     *  to `endpoints.logout` with the access token. */
    logout?: LogoutCall | LogoutCall[];
    /** Where error replies keep their explanation, tried in order; `[]` stands for each element
     *  of a list (`"messages[].message"`). Default `["detail", "error_description", "message", "error"]`. */
    errorFields?: string[];
    /** Statuses that mean "this token was refused" (refresh, then replay once); must include 401.
     *  Default `[401]`; flask-jwt-extended also uses 422. */
    tokenErrorStatuses?: number[];
    /** Bind the tokens to a key pair this browser cannot export (DPoP, RFC 9449), when the server
     *  supports it: every login, refresh and request with the token carries a fresh proof. Needs
     *  WebCrypto and IndexedDB (the constructor throws `config` without them). Default `false`. */
    dpop?: boolean;
}

/** One server call of `logout()`. */
export interface LogoutCall {
    /** Path (joined to `baseUrl`) or absolute URL; default `endpoints.logout`. */
    endpoint?: string;
    /** Default `"POST"`. */
    method?: "POST" | "DELETE";
    /** The token sent as `Authorization: Bearer`; default `"access"`. */
    bearer?: "access" | "refresh" | "none";
    /** Also send the refresh token in the body, as JSON or as a form. */
    refreshToken?: "json" | "form";
    /** The body field of the refresh token; default `"refresh_token"`. */
    field?: string;
}

/** A custom storage; methods may be synchronous or return Promises. */
export interface TokenStorage {
    getItem(key: string): string | null | Promise<string | null>;
    setItem(key: string, value: string): void | Promise<void>;
    removeItem(key: string): void | Promise<void>;
}

/** What `onAuthStateChange` listeners receive. */
export type AuthEvent = "INITIAL_SESSION" | "SIGNED_IN" | "TOKEN_REFRESHED" | "SIGNED_OUT"
| "SESSION_EXPIRED" | "REFRESH_FAILED";

/** A signed-in session. Times are milliseconds since the epoch. */
export interface Session {
    accessToken: string;
    refreshToken: string | null;
    /** From `exp` (or `expires_in`), on this client's clock. */
    expiresAt: number | null;
    /** The access token's claims, decoded without a signature check. */
    claims: Record<string, unknown>;
}

/** A snapshot for debugging a session (`getDiagnostics()`). */
export interface Diagnostics {
    phase: "signed_out" | "signed_in" | "refreshing" | "expired";
    expiresAt: number | null;
    nextRefreshAt: number | null;
    lastError: { code: AuthErrorCode; message: string; status: number | null } | null;
    /** Server clock minus this client's clock, in milliseconds (estimated). */
    clockOffsetMs: number;
    /**
     * What `clockOffsetMs` was estimated from, strongest first: the reply's `Date` header, the
     * token's `exp` less the reply's `expires_in`, the token's `iat`, or nothing (`"none"`: the
     * clocks are taken to agree, e.g. when an old `iat` was all there was).
     */
    clockOffsetSource: "date" | "expires_in" | "iat" | "none";
    refreshCount: number;
    consecutiveFailures: number;
    retryNotBefore: number | null;
    /** With `dpop: true`: whether the session's token is DPoP-bound, and the key's RFC 7638
     *  thumbprint (`null` until a proof needed the key). The key itself never appears. */
    dpop: { bound: boolean; thumbprint: string | null } | null;
}



/** The stable code of an {@link AuthError}; apps branch on it. */
export type AuthErrorCode =
| "invalid_credentials" | "account_disabled" | "not_authenticated" | "token_expired"
| "token_revoked" | "invalid_token" | "refresh_failed" | "forbidden" | "rate_limited"
| "network" | "server" | "protocol" | "storage" | "config";

/** Every rejection and throw of tokenkeeper. Messages never contain a token. */
export class AuthError extends Error {
    name: "AuthError";
    /** What went wrong, as a stable code. */
    code: AuthErrorCode;
    /** The HTTP status, when a response was received. */
    status?: number;
}



/**
 * Decodes a JWT's claims **without checking its signature** (the client never holds the key,
 * so claims read here are for display and UI decisions; the server decides access).
 *
 * Returns the whole payload as a plain object: `exp`, `iat` and `nbf` stay numbers (integer or
 * float), other claims keep their JSON types. Throws an `AuthError` with code `invalid_token`
 * when the token is malformed: not a string, not three parts, bad base64url, not UTF-8, not a
 * JSON object, or over the size cap. The message says which rule failed and never repeats the
 * token.
 */
export function decodeClaims(token: string): Record<string, unknown>;

/**
 * The version of the tokenkeeper package, e.g. `"0.1.0"`.
 */
export function version(): string;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly a: WebAssembly.Memory;
    readonly b: (a: number, b: number) => void;
    readonly c: (a: number, b: number, c: number) => number;
    readonly d: (a: number) => number;
    readonly e: (a: number) => number;
    readonly f: (a: number) => number;
    readonly g: (a: number) => number;
    readonly h: (a: number, b: number, c: number, d: number, e: number) => number;
    readonly i: (a: number, b: number) => number;
    readonly j: (a: number, b: number) => [number, number, number];
    readonly k: (a: number, b: number) => [number, number, number];
    readonly l: (a: number, b: number) => [number, number, number];
    readonly m: (a: number) => number;
    readonly n: (a: number, b: number, c: number, d: number) => number;
    readonly o: (a: number, b: number, c: number, d: number) => number;
    readonly p: (a: number, b: number) => number;
    readonly q: (a: number, b: number) => number;
    readonly r: (a: number, b: number, c: number, d: number) => [number, number, number];
    readonly s: (a: number) => number;
    readonly t: (a: number, b: number) => number;
    readonly u: (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => number;
    readonly v: (a: number) => number;
    readonly w: (a: number) => number;
    readonly x: (a: number, b: number, c: number) => number;
    readonly y: (a: number) => number;
    readonly z: (a: number, b: number) => number;
    readonly A: (a: number, b: number) => number;
    readonly B: (a: number, b: number) => number;
    readonly C: (a: number) => number;
    readonly D: (a: number, b: number, c: number) => number;
    readonly E: (a: number) => [number, number, number];
    readonly F: () => [number, number];
    readonly I: (a: number, b: number) => number;
    readonly J: (a: number, b: number, c: number, d: number) => number;
    readonly K: (a: number, b: number, c: number) => void;
    readonly L: (a: number) => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
