//! The JS `AuthClient` class: a thin wrapper that converts options, sessions, events and
//! errors between JS and the Rust [`AuthClient`](crate::browser::client::AuthClient).

use std::future::Future;
use std::pin::Pin;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use crate::browser::client::{no_response, AuthClient};
use crate::browser::storage::{StorageChoice, Store};
use crate::logic::config::AuthClientOptions;
use crate::logic::error::AuthError;
use crate::logic::option_names::unknown_option;
use crate::logic::session::{Phase, Session};
use crate::logic::token::Claims;

use super::error::to_js;

#[wasm_bindgen(typescript_custom_section)]
const TS_CLIENT_TYPES: &'static str = r#"
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
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `AuthClientOptions` as the app passed it.
    #[wasm_bindgen(typescript_type = "AuthClientOptions")]
    pub type JsOptions;
    /// An `onAuthStateChange` callback.
    #[wasm_bindgen(typescript_type = "(event: AuthEvent, session: Session | null) => void")]
    pub type JsListener;
    /// `fetch`'s first argument.
    #[wasm_bindgen(typescript_type = "RequestInfo | URL")]
    pub type JsRequestInfo;
    /// `fetch`'s second argument.
    #[wasm_bindgen(typescript_type = "RequestInit")]
    pub type JsRequestInit;
}

/// Logs in, keeps tokens fresh and logs out against one JWT auth API.
///
/// ```js
/// const client = new AuthClient({ baseUrl: "https://api.example.com" });
/// client.onAuthStateChange((event, session) => console.log(event, session?.claims.sub));
/// await client.login("alice@example.com", "correct horse");
/// const response = await client.fetch("https://api.example.com/dashboard");
/// ```
#[wasm_bindgen(js_name = AuthClient)]
pub struct JsAuthClient {
    client: AuthClient,
    /// What `fetch.js` calls back when a request it sent needs Rust (see [`after_send`]).
    after_send: js_sys::Function,
    /// The statuses that refuse a token (`tokenErrorStatuses`), for `fetch.js`.
    token_statuses: js_sys::Array,
}

#[wasm_bindgen(module = "/src/js/fetch.js")]
extern "C" {
    /// Sends a copy of `request` with the token; hands refusals (a status in `statuses`) and
    /// failures to `after`.
    #[wasm_bindgen(js_name = sendWithToken)]
    fn send_with_token(
        request: &web_sys::Request,
        token: &str,
        after: &js_sys::Function,
        statuses: &js_sys::Array,
    ) -> js_sys::Promise;
}

/// The Rust end of `fetch.js`, `after(request, token, response)`: replays a 401 (refreshing once
/// if needed), turns "no response" (`response` is `null`) into the `network` error, and sends a
/// request that could not carry the header (`undefined`) the full way, which then fails as it
/// always did.
///
/// A JS function that owns the closure: requests in flight keep it alive even if the
/// `AuthClient` object is freed or collected meanwhile.
fn after_send(client: AuthClient) -> js_sys::Function {
    Closure::<dyn FnMut(web_sys::Request, String, JsValue) -> js_sys::Promise>::new(
        move |request: web_sys::Request, token: String, response: JsValue| {
            let client = client.clone();
            promise(Box::pin(async move {
                let result = match response.dyn_into::<web_sys::Response>() {
                    Ok(response) => client.after_response(request, token, response).await,
                    Err(none) if none.is_null() => Err(no_response()),
                    Err(_) => client.fetch(request).await,
                };
                result.map(Into::into).map_err(to_js)
            }))
        },
    )
    .into_js_value()
    .unchecked_into()
}

#[wasm_bindgen(js_class = AuthClient)]
impl JsAuthClient {
    /// Creates a client and restores a stored session (synchronously for `"local"`, `"session"`
    /// and `"memory"` storage). Throws an `AuthError` with code `"config"` on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsOptions) -> Result<JsAuthClient, JsValue> {
        let (options, storage) = parse_options(options.into()).map_err(to_js)?;
        let client = AuthClient::new(options, storage).map_err(to_js)?;
        let after_send = after_send(client.clone());
        let token_statuses = client
            .token_error_statuses()
            .into_iter()
            .map(|status| JsValue::from(f64::from(status)))
            .collect();
        Ok(Self {
            client,
            after_send,
            token_statuses,
        })
    }

    /// Logs in with a username (or email) and password; resolves with the session. A later
    /// `login()` or `logout()` made before the reply replaces it: it then rejects with
    /// `not_authenticated`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn login(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] username: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] password: JsValue,
    ) -> js_sys::Promise {
        // Typed as JsValue and checked here: wasm-bindgen's own `String` conversion traps on a
        // number or an object ("memory access out of bounds") instead of throwing an AuthError.
        let (Some(username), Some(password)) = (username.as_string(), password.as_string()) else {
            return js_sys::Promise::reject(&to_js(AuthError::config(
                "login() needs the username and the password as strings",
            )));
        };
        let client = self.client.clone();
        promise(Box::pin(async move {
            let session = client.login(&username, &password).await.map_err(to_js)?;
            Ok(session_to_js(&session))
        }))
    }

    /// Refreshes now. Concurrent calls share one request.
    #[wasm_bindgen(unchecked_return_type = "Promise<Session>")]
    pub fn refresh(&self) -> js_sys::Promise {
        let client = self.client.clone();
        promise(Box::pin(async move {
            let session = client.refresh().await.map_err(to_js)?;
            Ok(session_to_js(&session))
        }))
    }

    /// Logs out: the server's logout endpoint when there is one; local state is cleared even
    /// when that call fails.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> js_sys::Promise {
        let client = self.client.clone();
        promise(Box::pin(async move {
            client.logout().await.map_err(to_js)?;
            Ok(JsValue::UNDEFINED)
        }))
    }

    /// The access token, refreshed first when expiring; `null` when signed out.
    #[wasm_bindgen(js_name = getAccessToken, unchecked_return_type = "Promise<string | null>")]
    pub fn get_access_token(&self) -> js_sys::Promise {
        // Most calls find a fresh token: answer them without spawning a Rust future.
        if let Some(token) = self.client.ready_access_token() {
            return js_sys::Promise::resolve(&JsValue::from(token));
        }
        let client = self.client.clone();
        promise(Box::pin(async move {
            let token = client.get_access_token().await.map_err(to_js)?;
            Ok(token.map(JsValue::from).unwrap_or(JsValue::NULL))
        }))
    }

    /// `fetch` with the bearer token for configured origins; on 401 refreshes once and replays
    /// once. Resolves with the `Response` for any status; rejects with `AuthError` `"network"`
    /// when no response came.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(&self, input: JsRequestInfo, init: Option<JsRequestInit>) -> js_sys::Promise {
        let request = match build_request(input.into(), init.map(Into::into)) {
            Ok(request) => request,
            Err(error) => return js_sys::Promise::reject(&to_js(error)),
        };
        // The common case, a fresh token for an allowed origin, is sent without a Rust future.
        if self.client.may_carry_token(&request) {
            if let Some(token) = self.client.ready_access_token() {
                return send_with_token(&request, &token, &self.after_send, &self.token_statuses);
            }
        }
        let client = self.client.clone();
        promise(Box::pin(async move {
            let response = client.fetch(request).await.map_err(to_js)?;
            Ok(response.into())
        }))
    }

    /// GETs the `me` endpoint with the token; resolves with its JSON.
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn me(&self) -> js_sys::Promise {
        let client = self.client.clone();
        promise(Box::pin(async move {
            let value = client.me().await.map_err(to_js)?;
            crate::platform::to_js(&value)
                .ok_or_else(|| to_js(AuthError::protocol("the me reply is not JSON")))
        }))
    }

    /// The current session, or `null`.
    #[wasm_bindgen(unchecked_return_type = "Session | null")]
    pub fn session(&self) -> JsValue {
        self.client
            .session()
            .map(|session| session_to_js(&session))
            .unwrap_or(JsValue::NULL)
    }

    /// Whether there is a session whose access token has not expired.
    #[wasm_bindgen(js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.client.is_authenticated()
    }

    /// The access token's claims (no signature check: for the UI only), or `null`.
    #[wasm_bindgen(unchecked_return_type = "Record<string, unknown> | null")]
    pub fn claims(&self) -> JsValue {
        self.client
            .claims()
            .map(|claims| claims_to_js(&claims))
            .unwrap_or(JsValue::NULL)
    }

    /// When the access token expires, in milliseconds since the epoch, or `null`.
    #[wasm_bindgen(js_name = expiresAt, unchecked_return_type = "number | null")]
    pub fn expires_at(&self) -> JsValue {
        millis(self.client.expires_at())
    }

    /// Whether the token carries `role` (UI decisions only; the server decides access).
    #[wasm_bindgen(js_name = hasRole)]
    pub fn has_role(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] role: JsValue,
    ) -> Result<bool, JsValue> {
        let role = role
            .as_string()
            .ok_or_else(|| to_js(AuthError::config("hasRole() needs a role name (a string)")))?;
        Ok(self.client.has_role(&role))
    }

    /// Whether the token carries at least one of `roles`.
    #[wasm_bindgen(js_name = hasAnyRole)]
    pub fn has_any_role(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] roles: JsValue,
    ) -> Result<bool, JsValue> {
        Ok(self.client.has_any_role(&role_names(&roles, "hasAnyRole")?))
    }

    /// Whether the token carries every one of `roles`.
    #[wasm_bindgen(js_name = hasAllRoles)]
    pub fn has_all_roles(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] roles: JsValue,
    ) -> Result<bool, JsValue> {
        Ok(self
            .client
            .has_all_roles(&role_names(&roles, "hasAllRoles")?))
    }

    /// Calls `listener(event, session)` on every auth event; `INITIAL_SESSION` comes first, a
    /// microtask after subscribing. A listener that throws does not stop the others. Returns a
    /// function that unsubscribes.
    #[wasm_bindgen(js_name = onAuthStateChange, unchecked_return_type = "() => void")]
    pub fn on_auth_state_change(&self, listener: JsListener) -> Result<JsValue, JsValue> {
        // Checked now: a listener that is not a function would only fail later, on each event.
        let listener: js_sys::Function = listener
            .dyn_into()
            .map_err(|_| to_js(AuthError::config("onAuthStateChange() needs a function")))?;
        let subscription = self.client.on_auth_state_change(move |event, session| {
            let session = session.map(session_to_js).unwrap_or(JsValue::NULL);
            if let Err(error) =
                listener.call2(&JsValue::UNDEFINED, &event.as_str().into(), &session)
            {
                web_sys::console::error_2(
                    &"tokenkeeper: an onAuthStateChange listener threw:".into(),
                    &error,
                );
            }
        });
        Ok(Closure::<dyn Fn()>::new(move || subscription.unsubscribe()).into_js_value())
    }

    /// A snapshot for debugging: phase, expiry, next refresh, last error, clock offset and
    /// refresh count.
    #[wasm_bindgen(js_name = getDiagnostics, unchecked_return_type = "Diagnostics")]
    pub fn get_diagnostics(&self) -> JsValue {
        let d = self.client.diagnostics();
        let phase = match d.phase {
            Phase::SignedOut => "signed_out",
            Phase::SignedIn => "signed_in",
            Phase::Refreshing => "refreshing",
            Phase::Expired => "expired",
        };
        let last_error = d.last_error.as_ref().map(|error| {
            let object = js_sys::Object::new();
            set(&object, "code", error.code().as_str().into());
            set(&object, "message", error.to_string().into());
            set(
                &object,
                "status",
                optional_number(error.status().map(f64::from)),
            );
            JsValue::from(object)
        });
        let object = js_sys::Object::new();
        set(&object, "phase", phase.into());
        set(&object, "expiresAt", millis(d.expires_at));
        set(&object, "nextRefreshAt", millis(d.next_refresh_at));
        set(&object, "lastError", last_error.unwrap_or(JsValue::NULL));
        set(
            &object,
            "clockOffsetMs",
            (d.clock_offset.as_millis() as f64).into(),
        );
        set(&object, "clockOffsetSource", d.clock_source.as_str().into());
        set(&object, "refreshCount", (d.refresh_count as f64).into());
        set(
            &object,
            "consecutiveFailures",
            d.consecutive_failures.into(),
        );
        set(&object, "retryNotBefore", millis(d.retry_not_before));
        object.into()
    }

    /// Stops timers and listeners and rejects pending calls (`config`); the stored session stays.
    /// A call whose outcome was already decided, such as the `login()` that a `SIGNED_IN`
    /// listener calling `dispose()` hears about, keeps it.
    pub fn dispose(&self) {
        self.client.dispose();
    }
}

/// The role names of `hasAnyRole(roles)` or `hasAllRoles(roles)`: an array of strings, or a
/// `config` AuthError naming `method` (wasm-bindgen's own `Vec<String>` conversion throws a plain
/// `Error` for `[1, 2]`, and answers `false` for a lone string instead of refusing it).
fn role_names(roles: &JsValue, method: &str) -> Result<Vec<String>, JsValue> {
    let names = js_sys::Array::is_array(roles)
        .then(|| {
            let roles: &js_sys::Array = roles.unchecked_ref();
            roles.iter().map(|role| role.as_string()).collect()
        })
        .flatten();
    names.ok_or_else(|| {
        to_js(AuthError::config(format!(
            "{method}() needs an array of role names (strings)"
        )))
    })
}

/// The own keys of `options` (`parent` `None`), or of the object given under `parent` (of every
/// object in it, when it is a list: `logout`); none when that is not an object. What
/// [`unknown_option`] checks.
fn option_keys(options: &JsValue, parent: Option<&str>) -> Vec<String> {
    let object = match parent {
        None => options.clone(),
        Some(name) => js_sys::Reflect::get(options, &name.into()).unwrap_or_default(),
    };
    let own_keys = |object: JsValue| -> Vec<String> {
        if !object.is_object() || js_sys::Array::is_array(&object) {
            return Vec::new();
        }
        js_sys::Object::keys(object.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|key| key.as_string())
            .collect()
    };
    match object.dyn_into::<js_sys::Array>() {
        Ok(list) if parent.is_some() => list.iter().flat_map(own_keys).collect(),
        Ok(list) => own_keys(list.into()),
        Err(object) => own_keys(object),
    }
}

/// The options (without `storage`) through serde-wasm-bindgen. A failure names the option at
/// fault, which serde-wasm-bindgen's messages do not: each option is tried again alone beside
/// `baseUrl`. That runs only on this error path; a path-tracking deserializer
/// (serde_path_to_error) would have cost the package 3.3 KB gzip.
fn deserialize_options(options: &js_sys::Object) -> Result<AuthClientOptions, AuthError> {
    let error = match serde_wasm_bindgen::from_value(options.into()) {
        Ok(options) => return Ok(options),
        Err(error) => JsValue::from(error),
    };
    let base_url = js_sys::Reflect::get(options, &"baseUrl".into()).unwrap_or_default();
    let fails_with = |key: &JsValue| {
        let alone = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&alone, &"baseUrl".into(), &base_url);
        if let Some(key) = key.as_string().filter(|key| key != "baseUrl") {
            let value = js_sys::Reflect::get(options, &key.as_str().into()).unwrap_or_default();
            let _ = js_sys::Reflect::set(&alone, &key.into(), &value);
        }
        serde_wasm_bindgen::from_value::<AuthClientOptions>(alone.into()).is_err()
    };
    let culprit = std::iter::once(JsValue::from("baseUrl"))
        .chain(js_sys::Object::keys(options).iter())
        .find(fails_with)
        .and_then(|key| key.as_string());
    // serde's own message; a JS exception raised while reading (a lookup on a string where an
    // array belongs) says nothing useful to the caller.
    let message = match error.dyn_ref::<js_sys::Error>() {
        Some(error) if error.name() == "Error" => String::from(error.message()),
        _ => String::from("a value of the wrong type"),
    };
    Err(AuthError::config(match culprit {
        Some(name) => format!("option `{name}`: {message}"),
        None => format!("invalid options: {message}"),
    }))
}

/// Splits the JS options into the serde part and the storage choice (an object is a custom
/// adapter, which serde cannot carry).
fn parse_options(options: JsValue) -> Result<(AuthClientOptions, StorageChoice), AuthError> {
    if !options.is_object() {
        return Err(AuthError::config(
            "options must be an object with a baseUrl",
        ));
    }
    if let Some((name, known)) = unknown_option(|parent| option_keys(&options, parent)) {
        let known: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
        return Err(AuthError::config(format!(
            "unknown option `{name}`, expected one of {}",
            known.join(", ")
        )));
    }
    let storage = js_sys::Reflect::get(&options, &"storage".into()).unwrap_or_default();
    let copy = js_sys::Object::assign(&js_sys::Object::new(), options.unchecked_ref());
    // Undefined fields are "not given"; serde-wasm-bindgen treats them as missing.
    let _ = js_sys::Reflect::delete_property(&copy, &"storage".into());
    // `logout` may be one call (an object): serde reads a list.
    let logout = js_sys::Reflect::get(&copy, &"logout".into()).unwrap_or_default();
    if logout.is_object() && !js_sys::Array::is_array(&logout) {
        let _ = js_sys::Reflect::set(&copy, &"logout".into(), &js_sys::Array::of1(&logout));
    }
    let options = deserialize_options(&copy)?;
    let storage = if storage.is_undefined() || storage.is_null() {
        StorageChoice::Local
    } else {
        Store::from_js(&storage)?
    };
    Ok((options, storage))
}

/// `new Request(input, init)`, as `fetch` would build it (relative URLs resolve against the page).
fn build_request(input: JsValue, init: Option<JsValue>) -> Result<web_sys::Request, AuthError> {
    let init: web_sys::RequestInit = init
        .filter(|init| !init.is_undefined() && !init.is_null())
        .map(JsCast::unchecked_into)
        .unwrap_or_default();
    let request = match input.dyn_ref::<web_sys::Request>() {
        Some(request) => web_sys::Request::new_with_request_and_init(request, &init),
        None => {
            // A string, or an object with a string form (`URL`), as `fetch` converts it.
            let url = match input.as_string() {
                Some(url) => url,
                None if input.is_object() => {
                    String::from(input.unchecked_ref::<js_sys::Object>().to_string())
                }
                None => return Err(AuthError::config("fetch() needs a URL, string or Request")),
            };
            web_sys::Request::new_with_str_and_init(&url, &init)
        }
    };
    request.map_err(|_| AuthError::config("fetch() was given an invalid URL or RequestInit"))
}

/// The contract's `Session` object.
pub(crate) fn session_to_js(session: &Session) -> JsValue {
    let object = js_sys::Object::new();
    set(&object, "accessToken", session.access_token().into());
    set(
        &object,
        "refreshToken",
        session
            .refresh_token()
            .map(JsValue::from)
            .unwrap_or(JsValue::NULL),
    );
    set(&object, "expiresAt", millis(session.stated_expires_at()));
    set(&object, "claims", claims_to_js(session.claims()));
    object.into()
}

/// Claims as a plain object: the payload was validated as a JSON object when decoded, and
/// `JSON.parse` builds it faster than a field-by-field conversion.
pub(crate) fn claims_to_js(claims: &Claims) -> JsValue {
    js_sys::JSON::parse(claims.payload_json()).unwrap_or_else(|_| js_sys::Object::new().into())
}

fn millis(at: Option<crate::logic::time::Timestamp>) -> JsValue {
    optional_number(at.map(|at| at.as_millis() as f64))
}

fn optional_number(value: Option<f64>) -> JsValue {
    value.map(JsValue::from).unwrap_or(JsValue::NULL)
}

fn set(object: &js_sys::Object, key: &str, value: JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(object, &key.into(), &value);
}

/// An API call's work, boxed so that every call shares one type.
type Call = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// The promise of an API call. Every call goes through this one instantiation of
/// `future_to_promise`: each distinct future type would add its own copy of its glue (a promise
/// executor closure and a spawned task) to the wasm module.
fn promise(call: Call) -> js_sys::Promise {
    future_to_promise(call)
}
