// An app's use of tokenkeeper/react, type-checked by `make api-check` against the published
// declarations. The `@ts-expect-error` lines are misuses the types must refuse: tsc fails if one
// of them compiles.
import { AuthClient, type AuthClientOptions, type Session } from "tokenkeeper";
import {
  AuthProvider,
  RequireRole,
  useAuth,
  useAuthActions,
  useAuthState,
  useSession,
} from "tokenkeeper/react";

const options: AuthClientOptions = { baseUrl: "https://api.example.com", profile: "simplejwt" };

function Account() {
  const auth = useAuth();
  const loading: boolean = auth.isLoading;
  const session: Session | null = auth.session;
  const admin: boolean = auth.hasRole("admin") && auth.hasAnyRole(["a", "b"]);
  const signedIn = useAuthState((state) => state.isAuthenticated);
  const flag: boolean = signedIn;
  const current: Session | null = useSession();
  const { login, logout, fetch } = useAuthActions();
  const submit = async () => {
    const s: Session = await login("ann", "pw");
    await fetch("/api/data", { method: "POST" });
    await logout();
    return s.accessToken;
  };
  // @ts-expect-error login takes a username and a password
  void login("ann");
  // @ts-expect-error hasAnyRole takes a list
  void auth.hasAnyRole("admin");
  return (
    <p onClick={() => void submit()}>
      {String(loading && flag && admin)} {current?.accessToken}
      <RequireRole role="admin" fallback={<span>no</span>} loading="…">
        Admin
      </RequireRole>
      <RequireRole anyOf={["a", "b"]}>Either</RequireRole>
    </p>
  );
}

export function WithOptions() {
  return (
    <AuthProvider options={options}>
      <Account />
    </AuthProvider>
  );
}

export function WithClient({ client }: { client: AuthClient }) {
  return (
    <AuthProvider client={client}>
      <Account />
    </AuthProvider>
  );
}

export function Misuses({ client }: { client: AuthClient }) {
  return (
    <>
      {/* @ts-expect-error a provider takes `client` or `options`, not both */}
      <AuthProvider client={client} options={options} />
      {/* @ts-expect-error options are checked: baseUrl is required */}
      <AuthProvider options={{ profile: "simplejwt" }} />
      {/* @ts-expect-error a role is a string */}
      <RequireRole role={1} />
    </>
  );
}
