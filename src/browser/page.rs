//! Page events the driver listens to: wake-ups (the page became visible, regained focus, came
//! back online, was restored from the back-forward cache) and other tabs' storage writes.
//!
//! Timers stall while a laptop sleeps or a tab sits in the background, so the driver re-checks
//! the wall clock on each wake-up instead of trusting its timer alone (oidc-client-ts
//! `utils/Timer.ts` and supabase's `visibilitychange` handler do the same).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{EventTarget, StorageEvent};

/// The listeners one client added; dropping this removes them all.
pub struct PageEvents {
    handlers: Vec<Handler>,
}

struct Handler {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl PageEvents {
    /// Listens for wake-ups (calls `on_wake`) and, when `storage_key` is given, for other tabs'
    /// `localStorage` writes to that key (calls `on_storage` with the new value, `None` when
    /// removed). Outside a window (Node, workers) there is nothing to listen to.
    ///
    /// Only events whose `storageArea` is this window's `localStorage` count. The same `storage`
    /// event reports `sessionStorage` changes made in other frames of the tab: an iframe's
    /// `sessionStorage.clear()` (key `null`) must not read as a sign-out, nor its write of a
    /// value under the same key as another tab's session. A `localStorage.clear()` elsewhere
    /// (key `null`, our area) did remove the session: it reads as a removal.
    pub fn listen(
        on_wake: impl Fn() + 'static,
        storage_key: Option<String>,
        on_storage: impl Fn(Option<String>) + 'static,
    ) -> Self {
        let mut events = Self {
            handlers: Vec::new(),
        };
        let Ok(window) = js_sys::global().dyn_into::<web_sys::Window>() else {
            return events;
        };
        let on_wake = std::rc::Rc::new(on_wake);
        for kind in ["focus", "online", "pageshow"] {
            let wake = on_wake.clone();
            events.add(window.as_ref(), kind, move |_| wake());
        }
        if let Some(document) = window.document() {
            let wake = on_wake.clone();
            let doc = document.clone();
            events.add(document.as_ref(), "visibilitychange", move |_| {
                if doc.visibility_state() == web_sys::VisibilityState::Visible {
                    wake();
                }
            });
        }
        // Compared by identity: a window's `localStorage` is one object, and the events about it
        // carry that object. Storage that cannot be reached here (disabled meanwhile) cannot be
        // watched either.
        let watched =
            storage_key.and_then(|key| Some((key, window.local_storage().ok().flatten()?)));
        if let Some((key, local)) = watched {
            events.add(window.as_ref(), "storage", move |event| {
                let Some(event) = event.dyn_ref::<StorageEvent>() else {
                    return;
                };
                // Another area (`sessionStorage` in another frame), or none (a synthetic event).
                let ours = event
                    .storage_area()
                    .is_some_and(|area| js_sys::Object::is(&area, &local));
                if !ours {
                    return;
                }
                // `key` is null when another tab called `localStorage.clear()`.
                match event.key() {
                    Some(changed) if changed == key => on_storage(event.new_value()),
                    None => on_storage(None),
                    Some(_) => {}
                }
            });
        }
        events
    }

    fn add(
        &mut self,
        target: &EventTarget,
        kind: &'static str,
        callback: impl FnMut(web_sys::Event) + 'static,
    ) {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(callback);
        if target
            .add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())
            .is_ok()
        {
            self.handlers.push(Handler {
                target: target.clone(),
                kind,
                callback,
            });
        }
    }
}

impl Drop for PageEvents {
    fn drop(&mut self) {
        for handler in &self.handlers {
            // Removing a listener that is not there is a no-op; failure is not actionable.
            let _ = handler.target.remove_event_listener_with_callback(
                handler.kind,
                handler.callback.as_ref().unchecked_ref(),
            );
        }
    }
}
