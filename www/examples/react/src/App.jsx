// tokenkeeper/react as the README shows it: one <AuthProvider options>, which creates the client
// in the browser and disposes it on unmount; hooks for state; <RequireRole> for admin-only UI.
import { useEffect, useState } from "react";
import { AuthProvider, RequireRole, useAuth, useAuthActions, useAuthState, useSession } from "tokenkeeper/react";

// Read once when the provider mounts. The API is on this origin (in dev, vite.config.js proxies
// it); "local" storage (the default) makes every tab of the app one session.
const options = { baseUrl: location.origin, storageKey: "tokenkeeper-react-example" };

export function Root() {
  return (
    <AuthProvider options={options}>
      <main>
        <h1>tokenkeeper + React</h1>
        <Status />
        <Page />
        <TokenPanel />
      </main>
    </AuthProvider>
  );
}

/** Reads two booleans only: a token refresh leaves both unchanged, so it does not re-render. */
function Status() {
  const isLoading = useAuthState((s) => s.isLoading);
  const isAuthenticated = useAuthState((s) => s.isAuthenticated);
  useCommits("status");
  return <p id="status" className="muted">{isLoading ? "Loading…" : isAuthenticated ? "Signed in" : "Signed out"}</p>;
}

function Page() {
  const view = useAuthState((s) => (s.isLoading ? "loading" : s.session ? "profile" : "login"));
  if (view === "loading") return <p id="loading">Loading…</p>;
  return view === "login" ? <LoginForm /> : <Profile />;
}

function LoginForm() {
  const { login, error } = useAuth();
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    // A failure shows through `error` below; the rejection needs no other handling here.
    await login(form.get("username"), form.get("password")).catch(() => {});
    setBusy(false);
  }

  return (
    <form id="login" onSubmit={submit}>
      <input name="username" placeholder="username or email" defaultValue="admin" required />
      <input name="password" type="password" placeholder="password" defaultValue="admin-password" required />
      <button disabled={busy}>Sign in</button>
      {error ? <p id="error" className="error">{`${error.code}: ${error.message}`}</p> : null}
    </form>
  );
}

function Profile() {
  const { claims, me, logout } = useAuth();
  const [profile, setProfile] = useState(null);

  useEffect(() => {
    let current = true;
    me().then(
      (user) => current && setProfile(user),
      (error) => current && setProfile({ error: error.code }),
    );
    return () => {
      current = false;
    };
  }, [me]);

  return (
    <section id="profile">
      <p>
        Signed in as <strong id="who">{String(claims.email ?? claims.sub)}</strong>
      </p>
      <h2>Profile (GET /auth/me)</h2>
      <pre id="me-output">{profile ? JSON.stringify(profile, null, 2) : "…"}</pre>
      {/* Hides UI only: /admin/users itself refuses non-admins (403). */}
      <RequireRole role="admin" fallback={<p id="not-admin" className="muted">The admin section is for admins.</p>}>
        <AdminUsers />
      </RequireRole>
      <button id="logout" onClick={() => logout().catch(() => {})}>Log out</button>
    </section>
  );
}

function AdminUsers() {
  const { fetch } = useAuthActions(); // stable: this component never re-renders for auth events
  const [users, setUsers] = useState(null);

  useEffect(() => {
    let current = true;
    fetch("/admin/users")
      .then((response) => response.json())
      .then((list) => current && setUsers(list), () => current && setUsers([]));
    return () => {
      current = false;
    };
  }, [fetch]);

  return (
    <section id="admin">
      <h2>Admin: users</h2>
      <ul id="admin-users">{users?.map((user) => <li key={user.email}>{user.email}</li>)}</ul>
    </section>
  );
}

/** Reads the session: every refresh re-renders it (and only it, of these components). */
function TokenPanel() {
  const session = useSession();
  const event = useAuthState((s) => s.event);
  useCommits("token");
  if (!session) return null;
  return (
    <p id="token" className="muted" data-expires-at={session.expiresAt ?? ""}>
      Last event <code id="event">{event}</code>; the access token expires at{" "}
      {session.expiresAt ? new Date(session.expiresAt).toLocaleTimeString() : "?"}
    </p>
  );
}

/** Counts a component's commits in `window.__commits`, to see which components an event reaches. */
function useCommits(name) {
  useEffect(() => {
    const commits = (window.__commits ??= {});
    commits[name] = (commits[name] ?? 0) + 1;
  });
}
