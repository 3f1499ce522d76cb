//! The cross-tab lock around "send refresh, store the result".
//!
//! Tabs sharing a session (`localStorage` or a custom adapter) must not all refresh the same
//! token: with rotation, the second tab would present a refresh token the first has just spent.
//! [`acquire`] takes the exclusive Web Lock (`navigator.locks.request`) named by the driver (after
//! the storage key); the driver re-reads storage once it holds the lock, so a tab that waited
//! finds the other tab's fresh session and adopts it without a request.
//!
//! The wait is bounded: a tab that holds the lock and then hangs (a frozen background tab, a
//! request stuck until its timeout) must not block the others forever. After `max_wait` the
//! pending request is withdrawn through an `AbortSignal` (the browser drops it from the queue),
//! and [`acquire`] returns a non-exclusive guard so the caller proceeds without the lock. If the
//! browser grants the lock anyway in that instant (or ignores the signal), it is released at once.
//!
//! # Fallback without Web Locks
//! Where `navigator.locks` does not exist (Node before Web Locks, old browsers, insecure
//! `http://` contexts other than localhost) or refuses the request (an opaque-origin sandboxed
//! iframe), [`acquire`] returns a non-exclusive guard at once. Tabs are then not serialized and
//! two of them may refresh at the same moment. No tab is logged out because of it, for two
//! reasons:
//!
//! - the driver re-reads storage right before sending, so a tab that starts after another tab
//!   stored its refresh adopts that session instead of sending;
//! - for the truly simultaneous case, the companion server's reuse-detection grace window accepts
//!   a just-rotated refresh token presented a second time within a few seconds, so both tabs get
//!   a valid session (the last write wins in storage, and both sessions are valid).
//!
//! # Reading storage under the lock
//! Web Locks are consistent across tabs; `localStorage` is not: each renderer process keeps a
//! copy that other tabs' writes reach asynchronously, so a tab granted the lock a moment after
//! another tab stored its refresh may still read the old value (measured in Chromium: the grant
//! arrived before the write about once in fifteen contended refreshes), and would send the
//! refresh token just spent. The tab that writes under the lock therefore first takes a marker
//! lock named after the value it replaced ([`hold_for`], see `tabs::mark_replaced`), and a tab
//! that takes the lock and reads a value with such a marker ([`held_names`]) knows the read is
//! stale and reads again until the write arrives.
//!
//! web-sys's `LockManager` is gated behind `web_sys_unstable_apis`, so this module binds the
//! calls it needs itself rather than enabling unstable cfgs for the whole crate.

use std::fmt;
use std::pin::pin;
use std::time::Duration;

use futures_channel::oneshot;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

use super::http::{first_of, timer_millis, First};
use super::spawn;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (the subset we use).
    type LockManager;

    /// `locks.request(name, options, callback)`: the lock is held until the Promise `callback`
    /// returns settles. `catch`: it throws synchronously on bad arguments in some engines.
    #[wasm_bindgen(method, catch, js_name = request)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &Object,
        callback: &Function,
    ) -> Result<JsValue, JsValue>;

    /// `locks.query()`: a Promise of `{ held: [{ name, .. }], pending: [..] }` for the origin.
    #[wasm_bindgen(method, catch, js_name = query)]
    fn query(this: &LockManager) -> Result<JsValue, JsValue>;
}

/// Holding it means holding the lock (when [`is_exclusive`](Self::is_exclusive)); dropping it or
/// calling [`release`](Self::release) releases it.
pub struct LockGuard {
    held: Option<Held>,
}

impl LockGuard {
    /// Releases the lock (the same as dropping the guard).
    pub fn release(self) {
        drop(self);
    }

    /// Whether this tab holds the Web Lock; `false` when the fallback was used (no Web Locks,
    /// request refused, or the bounded wait ran out).
    pub fn is_exclusive(&self) -> bool {
        self.held.is_some()
    }

    /// A guard that holds nothing: the caller proceeds without the lock.
    fn shared() -> Self {
        Self { held: None }
    }
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("exclusive", &self.is_exclusive())
            .finish()
    }
}

/// A granted lock: the `resolve` of the Promise the lock callback returned. Dropping it resolves
/// that Promise, which releases the lock, wherever the drop happens: in a guard, in a channel
/// whose receiver gave up, or in a future that was cancelled mid-wait.
struct Held {
    resolve: Function,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Calling a resolve function cannot throw; the result says nothing useful.
        let _ = self.resolve.call0(&JsValue::UNDEFINED);
    }
}

/// Aborts the pending lock request when dropped, unless disarmed: a timed-out or cancelled wait
/// withdraws the request from the browser's queue.
struct AbortOnDrop(Option<AbortController>);

impl AbortOnDrop {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}

/// Requests the exclusive Web Lock `name` and waits at most `max_wait` for it.
///
/// Resolves with an exclusive guard once granted. After `max_wait`, or at once where Web Locks
/// are missing or refuse the request, resolves with a non-exclusive guard so the caller proceeds
/// without the lock (see the module docs for why that is safe). Never fails.
pub async fn acquire(name: &str, max_wait: Duration) -> LockGuard {
    let Some(locks) = lock_manager() else {
        return LockGuard::shared();
    };
    let Ok(controller) = AbortController::new() else {
        return LockGuard::shared();
    };
    let options = Object::new();
    let set = |key: &str, value: &JsValue| Reflect::set(&options, &JsValue::from_str(key), value);
    if set("mode", &JsValue::from_str("exclusive")).is_err()
        || set("signal", controller.signal().as_ref()).is_err()
    {
        return LockGuard::shared();
    }
    let mut abort = AbortOnDrop(Some(controller));

    let (sender, receiver) = oneshot::channel::<Held>();
    let mut sender = Some(sender);
    // Called by the browser when the lock is granted; the lock is held until the returned
    // Promise settles, i.e. until the `Held` we hand over is dropped.
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock: JsValue| {
        let mut resolve = None;
        let held_until = Promise::new(&mut |resolve_fn, _reject| resolve = Some(resolve_fn));
        if let Some(resolve) = resolve {
            let held = Held { resolve };
            match sender.take() {
                // The waiter gave up (timed out or was cancelled): `send` hands the lock back
                // and dropping it releases the lock at once.
                Some(sender) => drop(sender.send(held)),
                // The browser calls the callback once; a second call is released at once too.
                None => drop(held),
            }
        }
        held_until
    });

    let request = match locks.request(name, &options, callback.as_ref().unchecked_ref()) {
        Ok(request) => request,
        Err(_) => return LockGuard::shared(),
    };
    // The callback must stay alive until the request settles: after release (fulfilled), or on
    // abort or refusal before a grant (rejected; awaiting it here also keeps the rejection from
    // being reported as unhandled). Dropping it then drops an unused sender, which tells a
    // waiter that the request failed, so it stops waiting at once.
    spawn(Box::pin(async move {
        let _ = JsFuture::from(Promise::resolve(&request)).await;
        drop(callback);
    }));

    let timer = pin!(TimeoutFuture::new(timer_millis(max_wait)));
    let granted = pin!(receiver);
    // The receiver is polled first: a grant that raced the timer is taken, not thrown away.
    match first_of(granted, timer).await {
        First::Left(Ok(held)) => {
            abort.disarm();
            LockGuard { held: Some(held) }
        }
        // Refused (e.g. SecurityError in an opaque origin) or timed out: `abort` withdraws the
        // request as it drops, and the dropped receiver makes a late grant release itself.
        First::Left(Err(oneshot::Canceled)) | First::Right(()) => LockGuard::shared(),
    }
}

/// Takes the exclusive lock `name` (waiting at most a second) and keeps it for `duration`, then
/// releases it; resolves once it is held. Does nothing where Web Locks are missing.
pub async fn hold_for(name: &str, duration: Duration) {
    let guard = acquire(name, Duration::from_secs(1)).await;
    if guard.is_exclusive() {
        spawn(Box::pin(async move {
            TimeoutFuture::new(timer_millis(duration)).await;
            guard.release();
        }));
    }
}

/// The names of the locks held now by any tab of this origin (`locks.query()`); empty where
/// Web Locks or `query` are missing or fail.
pub async fn held_names() -> Vec<String> {
    let Some(locks) = lock_manager() else {
        return Vec::new();
    };
    let Ok(pending) = locks.query() else {
        return Vec::new();
    };
    let Ok(snapshot) = JsFuture::from(Promise::resolve(&pending)).await else {
        return Vec::new();
    };
    let Ok(held) = Reflect::get(&snapshot, &JsValue::from_str("held")) else {
        return Vec::new();
    };
    if !js_sys::Array::is_array(&held) {
        return Vec::new();
    }
    js_sys::Array::from(&held)
        .iter()
        .filter_map(|info| Reflect::get(&info, &JsValue::from_str("name")).ok())
        .filter_map(|name| name.as_string())
        .collect()
}

/// `navigator.locks` when it exists and has a `request` function.
fn lock_manager() -> Option<LockManager> {
    let global = js_sys::global();
    let navigator = Reflect::get(&global, &JsValue::from_str("navigator")).ok()?;
    if !navigator.is_object() {
        return None;
    }
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok()?;
    if !locks.is_object() {
        return None;
    }
    let request = Reflect::get(&locks, &JsValue::from_str("request")).ok()?;
    if !request.is_function() {
        return None;
    }
    Some(locks.unchecked_into())
}
