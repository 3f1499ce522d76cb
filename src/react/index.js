// tokenkeeper/react: React bindings for tokenkeeper's AuthClient (README, "React").
//
// Shipped as written (plain ES module, no JSX, no build step) at pkg/react/index.js by
// scripts/finish-pkg.mjs; `../tokenkeeper.js` below is therefore the package's own web build.
// React is an optional peer dependency: apps that never import "tokenkeeper/react" never load
// React or this file, and the core files of the package are the same with or without it.
//
// Design, in short (the README explains it to app authors):
// - One store per client, owned by <AuthProvider>: it holds the only `onAuthStateChange`
//   subscription of the tree and republishes each event as an immutable snapshot. Components
//   read it with `useSyncExternalStore`, so one render never mixes two snapshots (tear-free).
// - `useAuth()` reads the whole snapshot (it returns the session, so it re-renders on every
//   event, token refreshes included); `useAuthState(selector)` re-renders only when its selection
//   changes, and `useAuthActions()` never re-renders for auth events at all.
// - With `options`, the provider owns the client: it is created in an effect once the module is
//   loaded and initialised (asynchronously), and disposed in that effect's cleanup. StrictMode's
//   mount/unmount/mount cancels the first attempt before it has created anything, so development
//   builds also create exactly one client. On a server effects never run: nothing is created,
//   the core is never imported, and the tree renders its loading state.
import {
  createContext,
  createElement,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useSyncExternalStore,
} from "react";

/** The snapshot before `INITIAL_SESSION` (and the only one a server render sees). */
const LOADING = Object.freeze({
  client: null,
  session: null,
  claims: null,
  isAuthenticated: false,
  isLoading: true,
  event: null,
  error: null,
});

let corePromise = null;

/**
 * Imports and initialises the core once per page. Imported lazily so that importing this module
 * in Node (server rendering) never evaluates the web build; `init()` is single-flight and returns
 * at once when the app has already initialised the module itself.
 */
function loadCore() {
  if (corePromise === null) {
    corePromise = import("../tokenkeeper.js").then(async (core) => {
      await core.default();
      return core;
    });
    // A failed .wasm fetch is not cached: a later mount tries again.
    corePromise.catch(() => {
      corePromise = null;
    });
  }
  return corePromise;
}

/**
 * The store behind one provider: the latest snapshot, the components listening to it, and the
 * actions bound to the client. `client` is the app's client, or null until the provider creates
 * one from `options`.
 */
function createStore(client) {
  const initial = client ? Object.freeze({ ...LOADING, client }) : LOADING;
  let state = initial;
  let current = client;
  const waiting = [];
  const listeners = new Set();

  function publish(patch) {
    state = Object.freeze({ ...state, ...patch });
    for (const listener of [...listeners]) listener();
  }

  /** Calls `name` on the client now, or once the provider has created it. */
  function call(name, args) {
    if (current) return current[name](...args);
    return new Promise((resolve) => waiting.push(resolve)).then((c) => c[name](...args));
  }

  // `error` belongs to the latest login/logout/refresh made through the hooks: an earlier call
  // that settles later must not overwrite it.
  let latest = 0;
  function tracked(name) {
    return async (...args) => {
      const id = ++latest;
      if (state.error !== null) publish({ error: null });
      try {
        return await call(name, args);
      } catch (error) {
        if (id === latest) publish({ error });
        throw error;
      }
    };
  }
  const plain = (name) => (...args) => call(name, args);

  return {
    getSnapshot: () => state,
    getServerSnapshot: () => initial,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Stable for the store's life: components that only call these never re-render. */
    actions: Object.freeze({
      login: tracked("login"),
      logout: tracked("logout"),
      refresh: tracked("refresh"),
      getAccessToken: plain("getAccessToken"),
      fetch: plain("fetch"),
      me: plain("me"),
    }),
    /**
     * Subscribes to `c` (the tree's single listener) and returns the unsubscribe. Everything a
     * snapshot holds is read inside the event, so the snapshot and the client agree.
     */
    attach(c) {
      current = c;
      for (const resolve of waiting.splice(0)) resolve(c);
      return c.onAuthStateChange((event, session) => {
        publish({
          client: c,
          session,
          claims: session?.claims ?? null,
          isAuthenticated: session !== null && c.isAuthenticated(),
          isLoading: false,
          event,
        });
      });
    },
    /**
     * The provider's own client is gone (unmount). Calls made meanwhile, and calls still waiting,
     * go to the next client: under StrictMode a child's mount effect may call before the first
     * (cancelled) mount and must not hang when the second mount creates the client.
     */
    release() {
      current = null;
    },
    /** The core could not be loaded or the options were refused: stop loading, show why. */
    fail(error) {
      publish({ isLoading: false, error });
    },
  };
}

const StoreContext = createContext(null);

function useStore(hook) {
  const store = useContext(StoreContext);
  if (store === null) throw new Error(`tokenkeeper/react: ${hook}() must be used inside <AuthProvider>`);
  return store;
}

/**
 * Provides auth state to the tree. Pass `client` (an AuthClient the app created and keeps) or
 * `options` (AuthClientOptions: the provider creates the client in the browser and disposes it
 * on unmount; options are read once, at mount: give the provider a new `key` to start over).
 */
export function AuthProvider({ client, options, children }) {
  if ((client == null) === (options == null)) {
    throw new TypeError("tokenkeeper/react: <AuthProvider> takes either `client` or `options`");
  }
  const store = useMemo(() => createStore(client ?? null), [client]);
  const optionsAtMount = useRef(options);

  useEffect(() => {
    if (client) return store.attach(client);
    let cancelled = false;
    let owned = null;
    let unsubscribe = null;
    loadCore()
      .then((core) => {
        if (cancelled) return; // unmounted meanwhile (StrictMode's first mount): create nothing
        owned = new core.AuthClient(optionsAtMount.current);
        unsubscribe = store.attach(owned);
      })
      .catch((error) => {
        if (!cancelled) store.fail(error);
      });
    return () => {
      cancelled = true;
      unsubscribe?.();
      store.release();
      owned?.dispose(); // stops its timers, cross-tab channel and page listeners; frees locks
    };
  }, [client, store]);

  return createElement(StoreContext.Provider, { value: store }, children);
}

/**
 * Selects from the auth snapshot and re-renders only when the selection changes (`isEqual`,
 * default `Object.is`). The same memoisation as React's `useSyncExternalStoreWithSelector`.
 */
export function useAuthState(selector, isEqual = Object.is) {
  const store = useStore("useAuthState");
  const committed = useRef(null); // { value } last rendered, reused while `isEqual` says so
  const [getSelection, getServerSelection] = useMemo(() => {
    const memo = (read) => {
      let seen = false;
      let seenState;
      let seenValue;
      return () => {
        const state = read();
        if (seen && Object.is(state, seenState)) return seenValue;
        const next = selector(state);
        seen = true;
        seenState = state;
        seenValue = committed.current !== null && isEqual(committed.current.value, next) ? committed.current.value : next;
        return seenValue;
      };
    };
    return [memo(store.getSnapshot), memo(store.getServerSnapshot)];
  }, [store, selector, isEqual]);
  const value = useSyncExternalStore(store.subscribe, getSelection, getServerSelection);
  useEffect(() => {
    committed.current = { value };
  }, [value]);
  return value;
}

/** Role checks answered for one snapshot: no session (or still loading) means no role. */
function roleChecks(state) {
  const { client, session } = state;
  const live = client !== null && session !== null;
  return {
    hasRole: (role) => live && client.hasRole(role),
    hasAnyRole: (roles) => live && client.hasAnyRole(roles),
    hasAllRoles: (roles) => live && client.hasAllRoles(roles),
  };
}

/**
 * Everything at once: the snapshot (`session`, `claims`, `isAuthenticated`, `isLoading`,
 * `event`, `error`, `client`), the actions and the role checks. Re-renders on every auth event.
 */
export function useAuth() {
  const store = useStore("useAuth");
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getServerSnapshot);
  return useMemo(() => ({ ...state, ...store.actions, ...roleChecks(state) }), [store, state]);
}

/** The session (or null); re-renders when it changes, a token refresh included. */
export function useSession() {
  return useAuthState(selectSession);
}

const selectSession = (state) => state.session;

/** The actions (`login`, `logout`, `refresh`, `getAccessToken`, `fetch`, `me`); never re-renders. */
export function useAuthActions() {
  return useStore("useAuthActions").actions;
}

/**
 * Renders `children` when the signed-in user has `role` (or any of `anyOf`, or all of `allOf`;
 * with none of them, any session will do), else `fallback`; `loading` (default `fallback`) until
 * the session is known. UI only: the server must refuse what the user may not do.
 */
export function RequireRole({ role, anyOf, allOf, fallback = null, loading = fallback, children }) {
  const gate = useAuthState((state) => {
    if (state.isLoading) return "loading";
    const checks = roleChecks(state);
    const allowed =
      state.session !== null &&
      (role === undefined || checks.hasRole(role)) &&
      (anyOf === undefined || checks.hasAnyRole(anyOf)) &&
      (allOf === undefined || checks.hasAllRoles(allOf));
    return allowed ? "allowed" : "denied";
  });
  if (gate === "loading") return loading;
  return gate === "allowed" ? children : fallback;
}
