//! Cross-tab messages: tells the other tabs (and other clients in this page) sharing a storage
//! key that the stored session changed, through a `BroadcastChannel`.
//!
//! `storage` events reach other tabs for `localStorage` only, and only from other documents: a
//! custom adapter (IndexedDB, a shared worker, an extension's storage) raises none, and two
//! clients in one page never hear each other. So after each write or removal it executes, the
//! driver posts on the channel `tokenkeeper:<storageKey>` the value it stored (a string), or
//! `null` for a removal; receivers feed that to the core as `Event::StorageChanged`. The value is
//! what storage holds anyway, on the same origin.
//!
//! - **Own writes**: a `BroadcastChannel` never delivers a message to the object that posted it,
//!   and `storage` events never fire in the document that wrote, so a tab does not hear itself.
//! - **Twice is harmless**: with `localStorage` one change arrives both here and as a `storage`
//!   event. The core treats a session identical to its own as no change, a failure it already
//!   counted as no news, and an older token of the same login (a message overtaken by a newer
//!   one) as stale.
//! - **Fallback**: where `BroadcastChannel` is missing (old browsers, some embedded webviews),
//!   [`TabChannel::open`] returns `None` and `localStorage`'s `storage` events
//!   (`page.rs`) still carry every change; a custom adapter's changes are then only
//!   seen when this tab next reads storage (under the refresh lock).
//! - **Node**: its `BroadcastChannel` would keep the process alive; the channel is `unref`ed, so
//!   only a pending refresh timer does (as documented for `dispose()`).
//!
//! # Reading what the previous lock holder wrote
//! Messages, `storage` events and other tabs' `localStorage` writes all reach a tab
//! asynchronously, and may arrive after the cross-tab lock is granted to it. A tab that writes
//! under the lock first marks the value it replaced ([`mark_replaced`]: a Web Lock named after
//! the value's fingerprint, held for [`MARKER_HOLD`]); the lock manager is consistent across
//! tabs, so the next holder sees the marker and [`read_under_lock`] reads again until the
//! replaced value is gone, so it does not send the refresh token the previous holder has just
//! spent (unless that write takes over [`STALE_READ_LIMIT`] to arrive).

use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use crate::browser::http::timer_millis;
use crate::browser::lock;
use crate::browser::storage::Store;
use crate::logic::error::AuthError;

/// How long a "replaced" marker is kept: twice the longest a tab waits for the lock, so every
/// tab queued behind the write when it happened sees the marker.
pub const MARKER_HOLD: Duration = Duration::from_secs(10);

/// How long [`read_under_lock`] waits for a write to arrive before going ahead with what it
/// read (a store that never catches up must not hold the lock forever).
pub const STALE_READ_LIMIT: Duration = Duration::from_secs(1);

/// The pause between two reads of a value known to be stale.
const STALE_READ_POLL: Duration = Duration::from_millis(5);

/// The channel's name for `storage_key`: the same string as the cross-tab lock's name, in the
/// separate namespace of channels.
pub fn channel_name(storage_key: &str) -> String {
    format!("tokenkeeper:{storage_key}")
}

/// The prefix of the marker locks for `storage_key`; the rest of the name is a fingerprint.
fn marker_prefix(storage_key: &str) -> String {
    format!("{}:replaced:", channel_name(storage_key))
}

/// A 64-bit FNV-1a fingerprint of a stored value, in hex: it names the value in a lock name
/// without revealing it (lock names are visible to every script of the origin).
fn fingerprint(value: &str) -> String {
    let hash = value.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Marks `replaced` (the value this tab read under the lock) as overwritten, before the lock is
/// released. Resolves once the marker is held; does nothing without Web Locks.
pub async fn mark_replaced(storage_key: &str, replaced: &str) {
    let name = format!("{}{}", marker_prefix(storage_key), fingerprint(replaced));
    lock::hold_for(&name, MARKER_HOLD).await;
}

/// Reads `storage_key` right after taking the cross-tab lock: when what it finds was replaced
/// by a previous holder whose write has not reached this tab yet, reads again (every few
/// milliseconds, for at most [`STALE_READ_LIMIT`]) until the write arrives.
///
/// Bounded, because the lock is held meanwhile: each read is bounded by the store
/// ([`STORAGE_TIMEOUT`](crate::browser::storage::STORAGE_TIMEOUT) for a custom storage; a read
/// that does not settle is a `storage` error, returned at once), and no new read starts once
/// [`STALE_READ_LIMIT`] has passed on the wall clock, however long each read took. So the lock
/// is held here for at most the limit plus one read.
pub async fn read_under_lock(
    store: &Store,
    storage_key: &str,
) -> Result<Option<String>, AuthError> {
    let prefix = marker_prefix(storage_key);
    let replaced: Vec<String> = lock::held_names()
        .await
        .into_iter()
        .filter_map(|name| name.strip_prefix(&prefix).map(str::to_owned))
        .collect();
    let is_stale = |stored: &Result<Option<String>, AuthError>| match stored {
        Ok(Some(value)) => replaced.contains(&fingerprint(value)),
        _ => false,
    };
    // Measured on the wall clock, so that a slow store's reads count too, and by the pauses
    // taken, which a clock set back meanwhile cannot stretch.
    let started = js_sys::Date::now();
    let limit = STALE_READ_LIMIT.as_secs_f64() * 1000.0;
    let mut paused = Duration::ZERO;
    let mut stored = store.get(storage_key).await;
    while is_stale(&stored) && paused < STALE_READ_LIMIT && js_sys::Date::now() - started < limit {
        TimeoutFuture::new(timer_millis(STALE_READ_POLL)).await;
        paused += STALE_READ_POLL;
        stored = store.get(storage_key).await;
    }
    stored
}

/// An open channel; dropping it stops listening and closes it.
pub struct TabChannel {
    channel: BroadcastChannel,
    // The same closure type as the page listeners', so the package exports no extra shim.
    _on_message: Closure<dyn FnMut(web_sys::Event)>,
}

impl TabChannel {
    /// Opens the channel for `storage_key` and calls `on_change` with every value another tab
    /// (or client) announces: `Some(value)` after a write, `None` after a removal. Messages of
    /// any other shape are ignored. `None` where `BroadcastChannel` is missing or refuses.
    pub fn open(storage_key: &str, on_change: impl Fn(Option<String>) + 'static) -> Option<Self> {
        let constructor = Reflect::get(&js_sys::global(), &JsValue::from_str("BroadcastChannel"));
        if !constructor.is_ok_and(|c| c.is_function()) {
            return None;
        }
        let channel = BroadcastChannel::new(&channel_name(storage_key)).ok()?;
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(event) = event.dyn_ref::<MessageEvent>() else {
                return;
            };
            let data = event.data();
            if data.is_null() {
                on_change(None);
            } else if let Some(value) = data.as_string() {
                on_change(Some(value));
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // Node: do not keep the event loop alive for this channel alone.
        if let Ok(unref) = Reflect::get(&channel, &JsValue::from_str("unref")) {
            if let Some(unref) = unref.dyn_ref::<Function>() {
                let _ = unref.call0(&channel);
            }
        }
        Some(Self {
            channel,
            _on_message: on_message,
        })
    }

    /// Tells the others what storage now holds: `Some(value)` after a write, `None` after a
    /// removal. Failures (a closed channel, a value the browser cannot clone) are ignored: the
    /// `storage` event and the re-read under the refresh lock remain.
    pub fn announce(&self, stored: Option<&str>) {
        let message = stored.map_or(JsValue::NULL, JsValue::from_str);
        let _ = self.channel.post_message(&message);
    }
}

impl Drop for TabChannel {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
