//! `Core`: the [`SessionMachine`] for the npm package's JavaScript driver (`src/js/driver/`).
//!
//! The driver owns the public `AuthClient` and all I/O (fetch, storage, Web Locks,
//! `BroadcastChannel`, timers, page events); it feeds each API call, reply and outside change to
//! `Core` as one method call and carries out the effects that come back, in order, as plain
//! objects (`{kind: "persist", value}`, `{kind: "send", request, …}`, …: see [`effect_to_js`]).
//! Ids (calls, listeners, requests, locks) are numbers. The clock is read here
//! (`Date.now()`), so the driver never passes a time.
//!
//! Nothing here may panic or trap, whatever the driver passes: that aborts the wasm module for
//! the whole page. Values from JavaScript are converted without `unwrap` or indexing; text
//! arguments arrive as `JsValue`s and are read with `as_string` ([`text`]); numbers are coerced
//! by the glue, and one that is not an id the machine issued is a stale id to it.

use wasm_bindgen::prelude::*;

use crate::logic::config::{Config, StorageKind};
use crate::logic::error::{AuthError, ErrorCode};
use crate::logic::json::Json;
use crate::logic::protocol::HttpReply;
use crate::logic::session::{
    Effect, Event, Jitter, ListenerId, LockId, OpId, Outcome, RequestId, SessionMachine,
};
use crate::logic::time::Timestamp;

use super::error::to_js;
use super::options::parse_options;
use super::values::{
    claims_to_js, diagnostics_to_js, millis, optional_session, role_names, session_to_js, set,
};

/// The session state machine with its configuration, for the JavaScript driver.
#[wasm_bindgen(js_name = Core, skip_typescript)]
pub struct Core {
    machine: SessionMachine,
    /// Why the stored session was discarded at start (unreadable storage, garbage), for the
    /// driver to log once.
    start_warning: Option<String>,
}

#[wasm_bindgen(js_class = Core)]
impl Core {
    /// `new Core(options, storageKind, pageOrigin, seed)`: `options` are the app's, without
    /// `storage` (the driver picks the storage and names its kind: `"local"`, `"session"`,
    /// `"memory"` or `"custom"`, after any fallback, since cross-tab locking depends on it);
    /// `pageOrigin` is the page's origin (`null`, or `"null"`, where there is none); `seed`
    /// seeds the backoff jitter (from `Math.random()`). Throws an `AuthError` (`config`) on bad
    /// options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        storage_kind: JsValue,
        page_origin: JsValue,
        seed: f64,
    ) -> Result<Core, JsValue> {
        let mut options = parse_options(&options).map_err(to_js)?;
        options.storage = Some(storage_kind_named(&text(&storage_kind)).map_err(to_js)?);
        let config = Config::resolve(options).map_err(to_js)?;
        // `as` saturates (and maps NaN to 0): any number is a seed.
        let mut machine = SessionMachine::new(config, Jitter::Seeded(seed as u64));
        if let Some(origin) = page_origin.as_string().filter(|origin| origin != "null") {
            machine.set_page_origin(&origin);
        }
        Ok(Core {
            machine,
            start_warning: None,
        })
    }

    /// What the driver keeps of the configuration, fixed once constructed, as one object:
    /// `{storageKey, tokenStatuses, tokenEndpoints}`. `storageKey` is the storage key (default
    /// `"tokenkeeper"`); `tokenStatuses` the statuses that refuse a token (`tokenErrorStatuses`,
    /// 401 among them), as numbers; `tokenEndpoints` the login endpoint and the refresh endpoint
    /// (when there is one) as configured: absolute URLs or `/`-paths, which the driver resolves
    /// against the page. `fetch()` never sends the token to them, and their 401 starts no refresh.
    pub fn settings(&self) -> JsValue {
        let config = self.machine.config();
        let statuses = js_sys::Array::new();
        for &status in &config.errors().token_statuses {
            statuses.push(&status.into());
        }
        let endpoints = config.endpoints();
        let urls = js_sys::Array::of1(&endpoints.login.as_str().into());
        if let Some(refresh) = &endpoints.refresh {
            urls.push(&refresh.as_str().into());
        }
        let object = js_sys::Object::new();
        set(&object, "storageKey", config.storage_key().into());
        set(&object, "tokenStatuses", statuses.into());
        set(&object, "tokenEndpoints", urls.into());
        object.into()
    }

    /// Whether a request to `origin` may carry the token (`apiOrigins`, `baseUrl`'s origin, the
    /// page's when `baseUrl` is a path). Both are `URL.origin` values.
    #[wasm_bindgen(js_name = allowsOrigin)]
    pub fn allows_origin(&self, origin: JsValue, page_origin: JsValue) -> bool {
        self.machine
            .config()
            .allows_origin(&text(&origin), &text(&page_origin))
    }

    /// The access token if `getAccessToken()` can resolve with it at once (signed in, not
    /// expiring, no refresh in flight); `undefined` means that call has work to do.
    #[wasm_bindgen(js_name = readyAccessToken)]
    pub fn ready_access_token(&self) -> JsValue {
        // A `JsValue`, not an `Option<String>`: the string is made from wasm memory by the one
        // import every string takes, with no copy out and free in the glue.
        optional_text(self.machine.ready_access_token(now()))
    }

    /// Whether the session's access token is DPoP-bound (`token_type: "DPoP"` or `cnf.jkt`): the
    /// driver then sends it as `Authorization: DPoP` with a proof.
    #[wasm_bindgen(js_name = dpopBound)]
    pub fn dpop_bound(&self) -> bool {
        self.machine.session().is_some_and(|s| s.is_dpop_bound())
    }

    /// The current `Session`, or `null`.
    pub fn session(&self) -> JsValue {
        optional_session(self.machine.session())
    }

    /// Whether there is a session whose access token has not expired (with the leeway).
    #[wasm_bindgen(js_name = isAuthenticated)]
    pub fn is_authenticated(&self) -> bool {
        self.machine.is_authenticated(now())
    }

    /// When the access token expires as the server stated it, in milliseconds since the epoch,
    /// or `null`.
    #[wasm_bindgen(js_name = expiresAt)]
    pub fn expires_at(&self) -> JsValue {
        millis(
            self.machine
                .session()
                .and_then(|session| session.stated_expires_at()),
        )
    }

    /// The access token's claims (no signature check), or `null`.
    pub fn claims(&self) -> JsValue {
        self.machine
            .session()
            .map(|session| claims_to_js(session.claims()))
            .unwrap_or(JsValue::NULL)
    }

    /// Whether the token carries `role`; throws a `config` AuthError when `role` is not a string.
    #[wasm_bindgen(js_name = hasRole)]
    pub fn has_role(&self, role: JsValue) -> Result<bool, JsValue> {
        let role = role
            .as_string()
            .ok_or_else(|| to_js(AuthError::config("hasRole() needs a role name (a string)")))?;
        Ok(self.with_roles(|roles, claims| roles.has_role(claims, &role)))
    }

    /// Whether the token carries at least one of `roles` (an array of strings, else throws).
    #[wasm_bindgen(js_name = hasAnyRole)]
    pub fn has_any_role(&self, roles: JsValue) -> Result<bool, JsValue> {
        let roles = role_names(&roles, "hasAnyRole")?;
        Ok(self.with_roles(|config, claims| config.has_any_role(claims, &roles)))
    }

    /// Whether the token carries every one of `roles` (an array of strings, else throws).
    #[wasm_bindgen(js_name = hasAllRoles)]
    pub fn has_all_roles(&self, roles: JsValue) -> Result<bool, JsValue> {
        let roles = role_names(&roles, "hasAllRoles")?;
        Ok(self.with_roles(|config, claims| config.has_all_roles(claims, &roles)))
    }

    /// The `getDiagnostics()` object.
    pub fn diagnostics(&self) -> JsValue {
        diagnostics_to_js(&self.machine.diagnostics(now()))
    }

    /// Storage was read at start: `stored` is the value (`null`: nothing stored), or `error` the
    /// message of what reading threw. When the stored value is discarded (unreadable, garbage),
    /// [`Core::start_warning`] says why afterwards.
    pub fn start(&mut self, stored: JsValue, error: JsValue) -> js_sys::Array {
        let effects = self.feed(Event::Start {
            stored: read_result(&stored, &error),
        });
        self.start_warning = self
            .machine
            .diagnostics(now())
            .last_error
            .filter(|error| error.code() == ErrorCode::Storage)
            .map(|error| error.full_message());
        effects
    }

    /// Why the stored session was discarded by [`Core::start`], for the driver to log once
    /// (`console.warn("tokenkeeper: " + warning)`); `undefined` when it was not. The message
    /// names the rule that failed, never the stored text.
    #[wasm_bindgen(js_name = startWarning)]
    pub fn start_warning(&self) -> JsValue {
        optional_text(self.start_warning.as_deref())
    }

    /// `login(username, password)` as call `op`.
    pub fn login(&mut self, op: f64, username: JsValue, password: JsValue) -> js_sys::Array {
        self.feed(Event::Login {
            op: OpId(id(op)),
            username: text(&username),
            password: text(&password),
        })
    }

    /// `refresh()` as call `op`.
    pub fn refresh(&mut self, op: f64) -> js_sys::Array {
        self.feed(Event::Refresh { op: OpId(id(op)) })
    }

    /// `getAccessToken()` as call `op` (when [`Core::ready_access_token`] had none).
    #[wasm_bindgen(js_name = getAccessToken)]
    pub fn get_access_token(&mut self, op: f64) -> js_sys::Array {
        self.feed(Event::GetAccessToken { op: OpId(id(op)) })
    }

    /// A request sent with `token` was refused (a `tokenErrorStatuses` status): call `op`
    /// completes with the token to replay with, or `null`.
    #[wasm_bindgen(js_name = tokenRejected)]
    pub fn token_rejected(&mut self, op: f64, token: JsValue) -> js_sys::Array {
        self.feed(Event::TokenRejected {
            op: OpId(id(op)),
            token: text(&token),
        })
    }

    /// `logout()` as call `op`.
    pub fn logout(&mut self, op: f64) -> js_sys::Array {
        self.feed(Event::Logout { op: OpId(id(op)) })
    }

    /// `me()` as call `op`.
    pub fn me(&mut self, op: f64) -> js_sys::Array {
        self.feed(Event::Me { op: OpId(id(op)) })
    }

    /// `onAuthStateChange()` registered `listener`: it gets an `initial` effect, then every
    /// `emit`.
    pub fn subscribe(&mut self, listener: f64) -> js_sys::Array {
        self.feed(Event::Subscribe {
            listener: ListenerId(id(listener)),
        })
    }

    /// The reply to the `send` effect `request`, whatever its status. The driver caps the body's
    /// size before reading it in (a `failed` with code `"protocol"` instead).
    pub fn response(
        &mut self,
        request: f64,
        status: u16,
        content_type: JsValue,
        body: JsValue,
        retry_after: JsValue,
        date: JsValue,
    ) -> js_sys::Array {
        self.feed(Event::Response {
            request: RequestId::from_raw(id(request)),
            result: Ok(HttpReply {
                status,
                content_type: content_type.as_string(),
                body: text(&body),
                retry_after: retry_after.as_string(),
                date: date.as_string(),
            }),
        })
    }

    /// The `send` effect `request` got no usable reply: `code` `"protocol"` (e.g. a body too
    /// large) or anything else for `network`; `message` never quotes a URL or a token;
    /// `status` when a response came.
    pub fn failed(
        &mut self,
        request: f64,
        code: JsValue,
        message: JsValue,
        status: Option<u16>,
    ) -> js_sys::Array {
        let message = text(&message);
        let error = match code.as_string().as_deref() {
            Some("protocol") => AuthError::protocol(message),
            _ => AuthError::network(message),
        };
        let error = match status {
            Some(status) => error.with_status(status),
            None => error,
        };
        self.feed(Event::Response {
            request: RequestId::from_raw(id(request)),
            result: Err(error),
        })
    }

    /// The `acquire` effect's `lock` was granted and storage read under it: `stored`, or
    /// `error` the message of what reading threw.
    #[wasm_bindgen(js_name = lockAcquired)]
    pub fn lock_acquired(&mut self, lock: f64, stored: JsValue, error: JsValue) -> js_sys::Array {
        self.feed(Event::LockAcquired {
            lock: LockId::from_raw(id(lock)),
            stored: read_result(&stored, &error),
        })
    }

    /// Another tab changed the stored session (`null`: removed).
    #[wasm_bindgen(js_name = storageChanged)]
    pub fn storage_changed(&mut self, stored: JsValue) -> js_sys::Array {
        self.feed(Event::StorageChanged {
            stored: stored.as_string(),
        })
    }

    /// A `persist` or `clear` effect failed with `message`.
    #[wasm_bindgen(js_name = storageFailed)]
    pub fn storage_failed(&mut self, message: JsValue) -> js_sys::Array {
        self.feed(Event::StorageFailed {
            error: AuthError::storage(text(&message)),
        })
    }

    /// The timer fired, or the page became visible or came back online.
    pub fn tick(&mut self) -> js_sys::Array {
        self.feed(Event::Tick)
    }
}

impl Core {
    /// Feeds `event` to the machine at the current time; its effects, in order, as JS objects.
    fn feed(&mut self, event: Event) -> js_sys::Array {
        self.machine
            .handle(event, now())
            .into_iter()
            .map(effect_to_js)
            .collect()
    }

    fn with_roles(
        &self,
        check: impl FnOnce(&crate::logic::roles::RoleClaims, &crate::logic::token::Claims) -> bool,
    ) -> bool {
        match self.machine.session() {
            Some(session) => check(self.machine.config().role_claims(), session.claims()),
            None => false,
        }
    }
}

/// The storage kind the driver names (the machine locks across tabs only with shared storage).
fn storage_kind_named(name: &str) -> Result<StorageKind, AuthError> {
    match name {
        "local" => Ok(StorageKind::Local),
        "session" => Ok(StorageKind::Session),
        "memory" => Ok(StorageKind::Memory),
        "custom" => Ok(StorageKind::Custom),
        _ => Err(AuthError::config(
            "internal: unknown storage kind (expected local, session, memory or custom)",
        )),
    }
}

/// The local clock, in the core's unit.
fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// An id from the driver: a whole number as JavaScript keeps it (`as` saturates, and maps NaN
/// to 0, an id the machine never issues).
fn id(value: f64) -> u64 {
    value as u64
}

/// A string argument; anything else is `""`. Every text parameter is a `JsValue` read here, not
/// a `&str` or `String`: wasm-bindgen's glue copies those into wasm memory without checking the
/// type, and a number or an object there corrupts the allocator (measured: "memory access out of
/// bounds", after which every call fails).
fn text(value: &JsValue) -> String {
    value.as_string().unwrap_or_default()
}

/// A string, or `undefined`.
fn optional_text(text: Option<&str>) -> JsValue {
    text.map(JsValue::from).unwrap_or_default()
}

/// What a storage read gave: the value (a string; anything else is "nothing stored"), or the
/// message of the error it threw (`error`, when a string, wins).
fn read_result(stored: &JsValue, error: &JsValue) -> Result<Option<String>, AuthError> {
    match error.as_string() {
        Some(message) => Err(AuthError::storage(message)),
        None => Ok(stored.as_string()),
    }
}

/// One effect as the driver's plain object, `kind` first:
///
/// - `{kind: "persist", value}`, `{kind: "clear"}`: write or remove the storage key;
/// - `{kind: "release", lock}`, `{kind: "acquire", lock}`: the cross-tab lock;
/// - `{kind: "send", request, endpoint, method, url, headers, body, credentials, timeout}`:
///   `headers` as `[name, value]` pairs, `body` a string or `undefined`, `timeout` in ms;
/// - `{kind: "schedule", at}` (ms since the epoch, local clock), `{kind: "cancel"}`: the timer;
/// - `{kind: "emit", event, session}`, `{kind: "initial", listener, session}`: listeners;
/// - `{kind: "complete", op, value}` or `{kind: "complete", op, error}` (an `AuthError`).
fn effect_to_js(effect: Effect) -> JsValue {
    let object = js_sys::Object::new();
    let kind = |kind: &str| set(&object, "kind", kind.into());
    match effect {
        Effect::Persist { value } => {
            kind("persist");
            set(&object, "value", value.into());
        }
        Effect::Clear => kind("clear"),
        Effect::ReleaseLock { lock } => {
            kind("release");
            set(&object, "lock", number(lock.get()));
        }
        Effect::AcquireLock { lock } => {
            kind("acquire");
            set(&object, "lock", number(lock.get()));
        }
        Effect::Send { request, http } => {
            kind("send");
            set(&object, "request", number(request.get()));
            set(&object, "endpoint", http.endpoint.name().into());
            set(&object, "method", http.method.as_str().into());
            set(&object, "url", http.url.as_str().into());
            let headers = js_sys::Array::new();
            for (name, value) in &http.headers {
                headers.push(&js_sys::Array::of2(
                    &name.as_str().into(),
                    &value.as_str().into(),
                ));
            }
            set(&object, "headers", headers.into());
            let body = http.body_text().map(JsValue::from).unwrap_or_default();
            set(&object, "body", body);
            set(&object, "credentials", http.credentials.as_str().into());
            set(&object, "timeout", (http.timeout.as_millis() as f64).into());
        }
        Effect::ScheduleTick { at } => {
            kind("schedule");
            set(&object, "at", (at.as_millis() as f64).into());
        }
        Effect::CancelTick => kind("cancel"),
        Effect::Emit { event, session } => {
            kind("emit");
            set(&object, "event", event.as_str().into());
            set(&object, "session", optional_session(session.as_ref()));
        }
        Effect::EmitInitial { listener, session } => {
            kind("initial");
            set(&object, "listener", number(listener.0));
            set(&object, "session", optional_session(session.as_ref()));
        }
        Effect::Complete { op, result } => {
            kind("complete");
            set(&object, "op", number(op.0));
            match result.and_then(outcome_to_js) {
                Ok(value) => set(&object, "value", value),
                Err(error) => set(&object, "error", to_js(error)),
            }
        }
    }
    object.into()
}

/// What a settled call resolves with: a `Session`, a token or `null`, `undefined`, or the `me`
/// JSON.
fn outcome_to_js(outcome: Outcome) -> Result<JsValue, AuthError> {
    Ok(match outcome {
        Outcome::Session(session) => session_to_js(&session),
        Outcome::AccessToken(token) => token.map(JsValue::from).unwrap_or(JsValue::NULL),
        Outcome::Done => JsValue::UNDEFINED,
        Outcome::Json(value) => json_to_js(&value)?,
    })
}

fn json_to_js(value: &Json) -> Result<JsValue, AuthError> {
    crate::platform::to_js(value).ok_or_else(|| AuthError::protocol("the me reply is not JSON"))
}

/// An id as a JS number (ids count up from 1, far below 2^53).
fn number(id: u64) -> JsValue {
    JsValue::from(id as f64)
}
