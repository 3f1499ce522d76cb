// Types of `tokenkeeper/react` (src/react/index.js). Hand-written; shipped as pkg/react/index.d.ts.
import type { ReactNode } from "react";
import type { AuthClient, AuthClientOptions, AuthEvent, Session } from "../tokenkeeper.js";

/** One immutable snapshot of a provider's auth state. */
export interface AuthState {
    /**
     * The client: the one passed to the provider, or the one it created from `options` (`null`
     * until then, and always on a server).
     */
    client: AuthClient | null;
    /** The session as of the last event, or `null`. */
    session: Session | null;
    /** `session.claims`, or `null`. */
    claims: Record<string, unknown> | null;
    /** A session whose access token had not expired when the last event came. */
    isAuthenticated: boolean;
    /** `true` until `INITIAL_SESSION` (always on a server); `false` too if the client failed. */
    isLoading: boolean;
    /** The last event, or `null` before `INITIAL_SESSION`. */
    event: AuthEvent | null;
    /**
     * The rejection of the latest `login`, `logout` or `refresh` made through these hooks
     * (usually an `AuthError`), cleared when the next one starts; or why the provider could not
     * create its client (an `AuthError` `"config"` for bad options, or the .wasm failing to load).
     */
    error: unknown;
}

/** Calls bound to the provider's client; they wait for it while the provider creates it. */
export interface AuthActions {
    login(username: string, password: string): Promise<Session>;
    logout(): Promise<void>;
    refresh(): Promise<Session>;
    getAccessToken(): Promise<string | null>;
    fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
    me(): Promise<unknown>;
}

/** Role checks for the snapshot they came with: `false` while loading or signed out. */
export interface RoleChecks {
    hasRole(role: string): boolean;
    hasAnyRole(roles: string[]): boolean;
    hasAllRoles(roles: string[]): boolean;
}

/** What `useAuth()` returns. */
export type UseAuthResult = AuthState & AuthActions & RoleChecks;

export type AuthProviderProps =
    | {
          /** A client the app created; the app disposes it too. */
          client: AuthClient;
          options?: undefined;
          children?: ReactNode;
      }
    | {
          /**
           * The provider creates the client in the browser after mounting and disposes it on
           * unmount. Read once, at mount: change the provider's `key` to start a new client.
           */
          options: AuthClientOptions;
          client?: undefined;
          children?: ReactNode;
      };

/** Provides auth state to the tree: one `onAuthStateChange` subscription for all of it. */
export function AuthProvider(props: AuthProviderProps): ReactNode;

/** The snapshot, actions and role checks; re-renders on every auth event (refreshes included). */
export function useAuth(): UseAuthResult;

/** A selection of the snapshot; re-renders only when it changes (`isEqual`, default `Object.is`). */
export function useAuthState<T>(selector: (state: AuthState) => T, isEqual?: (a: T, b: T) => boolean): T;

/** The session; re-renders when it changes, a token refresh included. */
export function useSession(): Session | null;

/** The actions only; stable, never re-renders for auth events. */
export function useAuthActions(): AuthActions;

export interface RequireRoleProps {
    /** The user must have this role. */
    role?: string;
    /** The user must have at least one of these. */
    anyOf?: string[];
    /** The user must have every one of these. */
    allOf?: string[];
    /** Rendered when the check fails (default nothing). */
    fallback?: ReactNode;
    /** Rendered until the session is known (default `fallback`). */
    loading?: ReactNode;
    children?: ReactNode;
}

/**
 * Renders `children` only for a signed-in user who passes the role checks (with none given, any
 * session). It hides UI; it protects nothing: the server must refuse what the user may not do.
 */
export function RequireRole(props: RequireRoleProps): ReactNode;
