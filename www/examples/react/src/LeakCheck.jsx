// `#leak`: mounts and unmounts <AuthProvider> on demand, with `options` (it owns a client) or with
// a `client` the page keeps, so that tests/e2e/react.test.mjs can count listeners and clients
// (probe.js) after many mounts. Under StrictMode each mount is mounted, unmounted and mounted.
import { useEffect, useState } from "react";
import init, { AuthClient } from "tokenkeeper";
import { AuthProvider, RequireRole, useAuth, useAuthActions, useSession } from "tokenkeeper/react";

await init();
const options = { baseUrl: location.origin, storageKey: "tokenkeeper-react-example" };
const shared = new AuthClient(options);

export function Root() {
  const [mode, setMode] = useState(null);
  return (
    <main>
      <button id="mount-options" onClick={() => setMode("options")}>Mount with options</button>
      <button id="mount-client" onClick={() => setMode("client")}>Mount with a client</button>
      <button id="unmount" onClick={() => setMode(null)}>Unmount</button>
      {mode === "options" ? (
        <AuthProvider options={options}>
          <Child />
        </AuthProvider>
      ) : null}
      {mode === "client" ? (
        <AuthProvider client={shared}>
          <Child />
        </AuthProvider>
      ) : null}
    </main>
  );
}

function Child() {
  const { isLoading, isAuthenticated } = useAuth();
  const session = useSession();
  const { getAccessToken } = useAuthActions();
  // A call from a mount effect: with `options` it runs before the provider has a client (children's
  // effects run first), and must still settle once there is one, StrictMode's extra mount included.
  useEffect(() => {
    const calls = (window.__calls ??= { made: 0, settled: 0 });
    calls.made += 1;
    const settle = () => {
      calls.settled += 1;
    };
    getAccessToken().then(settle, settle);
  }, [getAccessToken]);
  return (
    <p id="child" data-loading={String(isLoading)}>
      {isAuthenticated ? "signed in" : "signed out"} {session ? "(session)" : ""}
      <RequireRole role="admin">admin</RequireRole>
    </p>
  );
}
