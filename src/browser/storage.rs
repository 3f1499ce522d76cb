//! Where the session is persisted: `localStorage`, `sessionStorage`, memory, or an app-supplied
//! [`TokenStorage`] (a Rust implementation, or a JavaScript object wrapped by [`Store::from_js`]).
//!
//! This module stores opaque strings: the versioned JSON under the namespaced key is built and
//! parsed by the core (`Session::to_storage` / `Session::from_storage`), which also discards a
//! stored value that is garbage. What this module guarantees is that storage never crashes the
//! client:
//!
//! - Web Storage is looked up on `globalThis` (through [`js_sys::global`]), never through
//!   `web_sys::window()`, so Node and workers, which have no `window`, simply get the memory
//!   fallback. We do not use `gloo_storage::LocalStorage::raw()` either: it calls
//!   `unwrap_throw()` on the property access, which throws where storage is disabled (cookies
//!   blocked, sandboxed iframes, Safari private mode), so nothing could fall back.
//! - Opening probes the storage with a throwaway write; storage that is missing or throws falls
//!   back to memory, and [`Store::open`] says why so the driver can warn once.
//! - A write that throws (`QuotaExceededError`) switches the [`Store`] to memory, keeping the
//!   value there, and still reports the error.
//! - A custom adapter's call that does not settle within [`STORAGE_TIMEOUT`] is a `storage`
//!   error. The driver runs its effects one at a time and may hold the cross-tab lock while it
//!   reads or writes, so an adapter whose Promise never settles (a stuck IndexedDB transaction,
//!   an extension's storage that never answers) would otherwise stall every later call and
//!   event, and keep the lock from the other tabs. Web Storage and memory answer synchronously
//!   and need no bound.
//!
//! Error messages name the storage, the operation and the JavaScript error's `name` only: never
//! a key's value (it holds tokens) nor a JavaScript error's message (an app adapter's message
//! may quote the value it failed to write).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::logic::error::AuthError;

use super::http::{first_of, js_error_name, timer_millis, First};

/// How long one call to a custom storage (`getItem`, `setItem` or `removeItem`, or a Rust
/// [`TokenStorage`] method) may take before it counts as failed with a `storage` error.
///
/// Such a call holds up the client: effects run one at a time, so every later call and event
/// waits behind it, and a read or write made under the cross-tab lock keeps the other tabs
/// waiting too. 5 seconds is far beyond what a working store needs (IndexedDB and extension
/// storage answer in milliseconds), and the same as the longest a tab waits for another tab's
/// lock, so a stuck adapter delays the others no more than a stuck tab does. (supabase-js bounds
/// only its lock wait, by `lockAcquireTimeout`; its storage calls are unbounded.)
///
/// A timed-out call is treated like one that threw: a read counts as "could not read" (at
/// start-up the client starts signed out; under the lock it refreshes without the re-read), and
/// a write leaves the session in memory (`getDiagnostics().lastError` has code `storage`). The
/// adapter's Promise is not cancelled: a write that settles later may still land, so an adapter
/// should apply its writes in the order it receives them.
pub const STORAGE_TIMEOUT: Duration = Duration::from_secs(5);

const GET_TIMED_OUT: &str = "custom storage getItem did not settle within the storage timeout";
const SET_TIMED_OUT: &str = "custom storage setItem did not settle within the storage timeout";
const REMOVE_TIMED_OUT: &str =
    "custom storage removeItem did not settle within the storage timeout";

/// A boxed, non-`Send` future: what [`TokenStorage`] methods return, so that the trait stays
/// object-safe and implementations may await JavaScript promises (which are not `Send`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A place to keep the session. Rust apps may implement it (e.g. over IndexedDB or a native
/// keychain bridge); JavaScript custom adapters (`storage: { getItem, setItem, removeItem }`) are
/// wrapped in it.
///
/// A missing key is `Ok(None)`. An `Err` must carry code `storage` and must not quote the value.
/// Each call must settle within [`STORAGE_TIMEOUT`] (5 s): the client stops waiting after that
/// and treats the call as failed with a `storage` error.
///
/// ```
/// use std::cell::RefCell;
/// use std::collections::HashMap;
/// use tokenkeeper::{AuthError, BoxFuture, TokenStorage};
///
/// #[derive(Default)]
/// struct Mine(RefCell<HashMap<String, String>>);
///
/// impl TokenStorage for Mine {
///     fn get_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, AuthError>> {
///         Box::pin(async move { Ok(self.0.borrow().get(key).cloned()) })
///     }
///     fn set_item<'a>(&'a self, key: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
///         Box::pin(async move {
///             self.0.borrow_mut().insert(key.to_owned(), value.to_owned());
///             Ok(())
///         })
///     }
///     fn remove_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
///         Box::pin(async move {
///             self.0.borrow_mut().remove(key);
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait TokenStorage {
    /// The value stored under `key`, `None` when there is none.
    fn get_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, AuthError>>;
    /// Stores `value` under `key`, replacing any previous value.
    fn set_item<'a>(&'a self, key: &'a str, value: &'a str)
        -> BoxFuture<'a, Result<(), AuthError>>;
    /// Removes `key`; removing a missing key is not an error.
    fn remove_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), AuthError>>;
}

/// Which storage the client uses (the `storage` option).
#[derive(Clone)]
pub enum StorageChoice {
    /// `localStorage`: survives reloads and is shared by the origin's tabs (the default).
    Local,
    /// `sessionStorage`: survives reloads, private to the tab.
    Session,
    /// Memory only: gone on reload, private to the client.
    Memory,
    /// An app-supplied adapter, assumed to be shared by the origin's tabs.
    Custom(Rc<dyn TokenStorage>),
}

impl fmt::Debug for StorageChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("Local"),
            Self::Session => f.write_str("Session"),
            Self::Memory => f.write_str("Memory"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// An in-memory [`TokenStorage`]: the fallback when Web Storage is unusable, and the `"memory"`
/// choice. Clones share the same map.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    /// Key–value pairs; a store holds one or two keys, so a `Vec` (less wasm code than a map).
    items: Rc<RefCell<Vec<(String, String)>>>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // Synchronous access for `Store`, which needs no future for memory.
    fn get(&self, key: &str) -> Option<String> {
        self.items
            .borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.clone())
    }

    fn set(&self, key: &str, value: &str) {
        let mut items = self.items.borrow_mut();
        match items.iter_mut().find(|(k, _)| k == key) {
            Some((_, stored)) => value.clone_into(stored),
            None => items.push((key.to_owned(), value.to_owned())),
        }
    }

    fn remove(&self, key: &str) {
        self.items.borrow_mut().retain(|(k, _)| k != key);
    }
}

impl fmt::Debug for MemoryStorage {
    /// Lists the keys only: values hold tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items = self.items.borrow();
        let keys: Vec<&str> = items.iter().map(|(key, _)| key.as_str()).collect();
        f.debug_struct("MemoryStorage")
            .field("keys", &keys)
            .finish()
    }
}

impl TokenStorage for MemoryStorage {
    fn get_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, AuthError>> {
        Box::pin(async move { Ok(self.get(key)) })
    }

    fn set_item<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            self.set(key, value);
            Ok(())
        })
    }

    fn remove_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            self.remove(key);
            Ok(())
        })
    }
}

/// Which Web Storage area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebArea {
    Local,
    Session,
}

impl WebArea {
    /// The global property name, also used in messages.
    const fn global_name(self) -> &'static str {
        match self {
            Self::Local => "localStorage",
            Self::Session => "sessionStorage",
        }
    }
}

/// What a [`Store`] currently writes to. Cloning is cheap (handles and `Rc`s), which lets the
/// async paths copy the backend out of the `RefCell` instead of holding a borrow across `.await`.
#[derive(Clone)]
enum Backend {
    Web(WebArea, web_sys::Storage),
    Memory(MemoryStorage),
    Custom(Rc<dyn TokenStorage>),
}

/// The key written (and removed at once) to check that Web Storage accepts writes.
const PROBE_KEY: &str = "__tokenkeeper_probe__";

/// The session storage the driver holds: one of the [`StorageChoice`]s, or memory after a
/// fallback.
pub struct Store {
    // A `RefCell` because a failed write switches the backend behind `&self`. Borrows are never
    // held across `.await` (the custom backend is cloned out first).
    backend: RefCell<Backend>,
    /// The bound on each custom storage call ([`STORAGE_TIMEOUT`] unless a test shortened it).
    timeout: Duration,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("kind", &self.kind_name())
            .finish()
    }
}

impl Store {
    /// Opens the chosen storage.
    ///
    /// Web Storage that is missing (Node, workers) or throws on access or on a probe write
    /// (disabled, sandboxed iframe, Safari private mode, zero quota) falls back to memory; the
    /// returned `Option<AuthError>` (code `storage`) says why, so the driver can warn once.
    pub fn open(choice: StorageChoice) -> (Store, Option<AuthError>) {
        let (backend, warning) = match choice {
            StorageChoice::Local => open_web(WebArea::Local),
            StorageChoice::Session => open_web(WebArea::Session),
            StorageChoice::Memory => (Backend::Memory(MemoryStorage::new()), None),
            StorageChoice::Custom(adapter) => (Backend::Custom(adapter), None),
        };
        let store = Store {
            backend: RefCell::new(backend),
            timeout: STORAGE_TIMEOUT,
        };
        (store, warning)
    }

    /// This store with another bound on custom storage calls than [`STORAGE_TIMEOUT`]: for
    /// tests, which cannot wait seconds for each stalled call. Not an option of the client.
    #[doc(hidden)]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs one custom storage call, bounded by the store's timeout: a call that has not
    /// settled by then is a `storage` error saying `timed_out` (a static text naming the method:
    /// no formatting code for a message that is rarely shown), and its future is dropped so the
    /// caller moves on.
    async fn bounded<T>(
        &self,
        timed_out: &'static str,
        call: BoxFuture<'_, Result<T, AuthError>>,
    ) -> Result<T, AuthError> {
        let mut call = call;
        let timer = pin!(TimeoutFuture::new(timer_millis(self.timeout)));
        // The call is polled first: one that settled as the timer fired still counts.
        match first_of(call.as_mut(), timer).await {
            First::Left(result) => result,
            First::Right(()) => Err(AuthError::storage(timed_out)),
        }
    }

    /// Reads the JavaScript `storage` option: `"local"`, `"session"`, `"memory"`, or an object
    /// whose `getItem`, `setItem` and `removeItem` are functions (sync or Promise-returning).
    /// `undefined` means the default, `"local"`. Anything else is a `config` error.
    pub fn from_js(value: &JsValue) -> Result<StorageChoice, AuthError> {
        if value.is_undefined() {
            return Ok(StorageChoice::Local);
        }
        if let Some(name) = value.as_string() {
            return match name.as_str() {
                "local" => Ok(StorageChoice::Local),
                "session" => Ok(StorageChoice::Session),
                "memory" => Ok(StorageChoice::Memory),
                other => Err(AuthError::config(format!(
                    "storage must be \"local\", \"session\", \"memory\" or an object with \
                     getItem, setItem and removeItem, not {:?}",
                    truncate(other, 40)
                ))),
            };
        }
        if !value.is_object() && !value.is_function() {
            return Err(AuthError::config(format!(
                "storage must be \"local\", \"session\", \"memory\" or an object with getItem, \
                 setItem and removeItem, not a {}",
                js_type(value)
            )));
        }
        JsStorage::new(value).map(|adapter| StorageChoice::Custom(Rc::new(adapter)))
    }

    /// The value under `key`, `None` when there is none. A custom storage's call that does not
    /// settle within the store's timeout ([`STORAGE_TIMEOUT`]) is a `storage` error.
    pub async fn get(&self, key: &str) -> Result<Option<String>, AuthError> {
        let backend = self.backend.borrow().clone();
        match backend {
            Backend::Web(area, storage) => storage
                .get_item(key)
                .map_err(|error| web_error(area, "read", &error)),
            Backend::Memory(memory) => Ok(memory.get(key)),
            Backend::Custom(adapter) => self.bounded(GET_TIMED_OUT, adapter.get_item(key)).await,
        }
    }

    /// Stores `value` under `key`.
    ///
    /// A Web Storage write that throws (`QuotaExceededError`, storage disabled meanwhile)
    /// switches this store to memory, keeping `value` there, and still returns the `storage`
    /// error so the driver can report it. The stale value is removed from Web Storage on a best
    /// effort basis: it may hold a refresh token the server has since rotated, which a reload or
    /// another tab must not present (reuse detection could revoke the whole session).
    ///
    /// A custom storage's write that does not settle within the store's timeout is a `storage`
    /// error (the store keeps the custom backend: the next write may well succeed).
    pub async fn set(&self, key: &str, value: &str) -> Result<(), AuthError> {
        let backend = self.backend.borrow().clone();
        match backend {
            Backend::Web(area, storage) => {
                let Err(error) = storage.set_item(key, value) else {
                    return Ok(());
                };
                let _ = storage.remove_item(key);
                let memory = MemoryStorage::new();
                memory.set(key, value);
                *self.backend.borrow_mut() = Backend::Memory(memory);
                Err(AuthError::storage(format!(
                    "could not write to {} ({}); keeping the session in memory for this tab",
                    area.global_name(),
                    js_error_name(&error)
                )))
            }
            Backend::Memory(memory) => {
                memory.set(key, value);
                Ok(())
            }
            Backend::Custom(adapter) => {
                self.bounded(SET_TIMED_OUT, adapter.set_item(key, value))
                    .await
            }
        }
    }

    /// Removes `key`; a missing key is not an error. Bounded like [`Store::get`].
    pub async fn remove(&self, key: &str) -> Result<(), AuthError> {
        let backend = self.backend.borrow().clone();
        match backend {
            Backend::Web(area, storage) => storage
                .remove_item(key)
                .map_err(|error| web_error(area, "remove from", &error)),
            Backend::Memory(memory) => {
                memory.remove(key);
                Ok(())
            }
            Backend::Custom(adapter) => {
                self.bounded(REMOVE_TIMED_OUT, adapter.remove_item(key))
                    .await
            }
        }
    }

    /// Whether other tabs see this storage, so tabs must act as one session (local and custom:
    /// yes; session and memory, including after a fallback: no).
    pub fn is_shared(&self) -> bool {
        matches!(
            &*self.backend.borrow(),
            Backend::Web(WebArea::Local, _) | Backend::Custom(_)
        )
    }

    /// What the store currently writes to: `"local"`, `"session"`, `"memory"` or `"custom"`.
    pub fn kind_name(&self) -> &'static str {
        match &*self.backend.borrow() {
            Backend::Web(WebArea::Local, _) => "local",
            Backend::Web(WebArea::Session, _) => "session",
            Backend::Memory(_) => "memory",
            Backend::Custom(_) => "custom",
        }
    }
}

/// Opens `localStorage` or `sessionStorage` from `globalThis`, or memory with the reason why not.
fn open_web(area: WebArea) -> (Backend, Option<AuthError>) {
    let name = area.global_name();
    let fallback = |why: String| {
        let warning = AuthError::storage(format!(
            "{name} is unavailable ({why}); keeping the session in memory for this tab"
        ));
        (Backend::Memory(MemoryStorage::new()), Some(warning))
    };
    // The getter itself throws a SecurityError where storage is disabled.
    let value = match Reflect::get(&js_sys::global(), &JsValue::from_str(name)) {
        Ok(value) => value,
        Err(error) => return fallback(js_error_name(&error)),
    };
    if !value.is_object() {
        return fallback("not defined here".to_owned());
    }
    // Not `dyn_into`: a Storage-like object (a polyfill, Node's experimental Web Storage) is
    // fine, and the probe below catches one that does not work. The web-sys methods used are
    // `catch` bindings, so a missing method is an `Err`, not a throw through wasm.
    let storage: web_sys::Storage = value.unchecked_into();
    if let Err(error) = storage.set_item(PROBE_KEY, PROBE_KEY) {
        return fallback(js_error_name(&error));
    }
    if let Err(error) = storage.remove_item(PROBE_KEY) {
        return fallback(js_error_name(&error));
    }
    (Backend::Web(area, storage), None)
}

fn web_error(area: WebArea, operation: &str, error: &JsValue) -> AuthError {
    AuthError::storage(format!(
        "could not {operation} {} ({})",
        area.global_name(),
        js_error_name(error)
    ))
}

/// A JavaScript `TokenStorage` object. Its methods are looked up once, when the options are
/// read, so a bad adapter is a `config` error at construction rather than a failure later.
struct JsStorage {
    this: JsValue,
    get_item: Function,
    set_item: Function,
    remove_item: Function,
}

impl JsStorage {
    fn new(object: &JsValue) -> Result<Self, AuthError> {
        let method = |name: &str| -> Result<Option<Function>, AuthError> {
            // A getter or Proxy trap may throw: that is a bad option, not a crash.
            let value = Reflect::get(object, &JsValue::from_str(name)).map_err(|error| {
                AuthError::config(format!(
                    "reading storage.{name} threw ({})",
                    js_error_name(&error)
                ))
            })?;
            Ok(value.dyn_into::<Function>().ok())
        };
        let get_item = method("getItem")?;
        let set_item = method("setItem")?;
        let remove_item = method("removeItem")?;
        match (get_item, set_item, remove_item) {
            (Some(get_item), Some(set_item), Some(remove_item)) => Ok(Self {
                this: object.clone(),
                get_item,
                set_item,
                remove_item,
            }),
            (get_item, set_item, remove_item) => {
                let missing: Vec<&str> = [
                    ("getItem", get_item.is_none()),
                    ("setItem", set_item.is_none()),
                    ("removeItem", remove_item.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                Err(AuthError::config(format!(
                    "a custom storage object needs getItem, setItem and removeItem functions; \
                     missing: {}",
                    missing.join(", ")
                )))
            }
        }
    }

    /// Calls `method` and awaits its result when it is a Promise (or any thenable); a plain
    /// value passes through `Promise.resolve` unchanged, so sync and async adapters are one path.
    async fn call(
        &self,
        name: &str,
        method: &Function,
        args: &[&JsValue],
    ) -> Result<JsValue, AuthError> {
        let returned = match args {
            [key] => method.call1(&self.this, *key),
            [key, value] => method.call2(&self.this, *key, *value),
            _ => method.call0(&self.this),
        }
        .map_err(|error| {
            AuthError::storage(format!(
                "custom storage {name} threw ({})",
                js_error_name(&error)
            ))
        })?;
        JsFuture::from(Promise::resolve(&returned))
            .await
            .map_err(|error| {
                AuthError::storage(format!(
                    "custom storage {name} rejected ({})",
                    js_error_name(&error)
                ))
            })
    }
}

impl TokenStorage for JsStorage {
    fn get_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, AuthError>> {
        Box::pin(async move {
            let key = JsValue::from_str(key);
            let value = self.call("getItem", &self.get_item, &[&key]).await?;
            if let Some(text) = value.as_string() {
                Ok(Some(text))
            } else if value.is_null() || value.is_undefined() {
                // `undefined` too: `Map.prototype.get` and many hand-written adapters return it
                // for a missing key.
                Ok(None)
            } else {
                Err(AuthError::storage(format!(
                    "custom storage getItem returned a value of type {}, not a string or null",
                    js_type(&value)
                )))
            }
        })
    }

    fn set_item<'a>(
        &'a self,
        key: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            let key = JsValue::from_str(key);
            let value = JsValue::from_str(value);
            self.call("setItem", &self.set_item, &[&key, &value])
                .await
                .map(drop)
        })
    }

    fn remove_item<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async move {
            let key = JsValue::from_str(key);
            self.call("removeItem", &self.remove_item, &[&key])
                .await
                .map(drop)
        })
    }
}

/// `typeof value`, for messages (never the value itself).
fn js_type(value: &JsValue) -> String {
    if value.is_null() {
        return "null".to_owned();
    }
    value
        .js_typeof()
        .as_string()
        .unwrap_or_else(|| "value".to_owned())
}

/// At most `max` characters of `text`, on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => text.get(..end).unwrap_or(text),
        None => text,
    }
}
