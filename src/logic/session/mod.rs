//! The session state machine: every decision about signing in, refreshing, expiring and signing
//! out, with no I/O.
//!
//! [`SessionMachine::handle`] takes an [`Event`] and `now` and returns the [`Effect`]s to carry
//! out. It never reads a clock, storage or the network, so every behaviour below is tested with
//! plain `cargo test` and a fixed clock.
//!
//! # States
//! [`Phase`] summarises the state: `SignedOut` (no session), `SignedIn` (a session whose access
//! token is valid), `Refreshing` (a refresh is waiting for the cross-tab lock or its response),
//! `Expired` (a session is kept, its access token has expired, and a refresh can still save it:
//! offline, server down, or `autoRefresh: false`). A session that can no longer be refreshed
//! ends at its expiry with `SESSION_EXPIRED`.
//!
//! # How a driver uses it
//! The driver owns one machine, a way to send HTTP, the storage under
//! [`Config::storage_key`], one timer, a cross-tab lock (Web Locks on the storage key) and the
//! listeners. It never decides anything itself:
//!
//! 1. At start-up it reads storage and feeds [`Event::Start`] (a read that throws is
//!    `Err(storage error)`). Events fed before it wait inside the machine and are handled right
//!    after it, so a driver whose storage answers asynchronously needs no buffer of its own.
//! 2. It turns every API call into an event with a fresh [`OpId`] and keeps the caller's promise
//!    under that id: `login()` → [`Event::Login`], `refresh()` → [`Event::Refresh`],
//!    `getAccessToken()` and `fetch()` (before sending, for allowed origins) →
//!    [`Event::GetAccessToken`], a 401 on a request sent with token `t` → [`Event::TokenRejected`]
//!    (once per `fetch`; never for the replay), `me()` → [`Event::Me`], `logout()` →
//!    [`Event::Logout`]; `onAuthStateChange` → [`Event::Subscribe`] with a fresh [`ListenerId`].
//! 3. It feeds the outside world back: replies to [`Effect::Send`] as [`Event::Response`] (a
//!    `fetch` rejection or timeout as `Err(AuthError::network(..))`), a granted lock as
//!    [`Event::LockAcquired`] with storage re-read *under* the lock, `storage` events from other
//!    tabs (shared storage only) as [`Event::StorageChanged`], failed storage writes as
//!    [`Event::StorageFailed`], and [`Event::Tick`] when its timer fires and also on
//!    `visibilitychange` to visible, `online` and `focus` (timers stall while a laptop sleeps).
//! 4. It executes the returned effects in order, each exactly as described:
//!    [`Effect::Persist`] / [`Effect::Clear`] write storage; [`Effect::ReleaseLock`] releases
//!    the lock; [`Effect::Send`] starts a request (without waiting for it) and
//!    [`Effect::AcquireLock`] requests the lock; [`Effect::ScheduleTick`] replaces the one timer
//!    and [`Effect::CancelTick`] stops it; [`Effect::Emit`] calls the listeners (after storage is
//!    written and the lock released, as the order guarantees) and [`Effect::EmitInitial`] greets
//!    one new listener with `INITIAL_SESSION` (it hears every `Emit` after that);
//!    [`Effect::Complete`] settles the caller's promise.
//!
//! `fetch(input)` sends the app's own request, so it is the one composite call: if the origin is
//! allowed ([`Config::allows_origin`]), get a token with [`Event::GetAccessToken`] (none: send
//! without); on a 401 feed [`Event::TokenRejected`] with the token used; a `Some(token)` outcome
//! means replay once with it, anything else means resolve with the original 401 response.
//! `me()` is the same sequence run inside the machine (`me.rs`): every request it sends is an
//! [`Effect::Send`]; when the replay is not possible it rejects with the error of the original
//! 401 (`not_authenticated`, `token_expired` or `token_revoked`). Signed out, it rejects with
//! `not_authenticated` without a request.
//!
//! Requests and locks carry ids ([`RequestId`], [`LockId`]): a reply or lock that arrives after
//! the machine moved on (a logout during a refresh, another tab's refresh adopted) is ignored
//! or released, so the driver needs no bookkeeping beyond passing ids back. The latest login or
//! logout decides the session: a login still waiting for its reply when another login or a
//! logout comes is settled with `not_authenticated` at once, and its reply installs nothing (a
//! session the server granted by it is logged out there with one more [`Effect::Send`]).
//!
//! # Many tabs
//! With shared storage ([`StorageKind::is_shared`]) the tabs of one browser are one session:
//!
//! - A refresh runs under the cross-tab lock, which covers only "send, store the result". Under
//!   it storage is read again: a session another tab stored meanwhile is adopted instead of
//!   sending (when it is not itself due), and an empty storage means another tab signed out.
//! - A retryable failure is stored with the session (its failure times, the retry time and any
//!   `Retry-After`), so the other tabs back off with the tab that failed instead of each running
//!   its own retries: one failure counts for all, the per-window cap bounds what the whole
//!   browser sends, and a tab that finds under the lock that another tab has just failed waits
//!   for the shared retry time (its callers are answered as after its own failure).
//! - Whatever another tab stores reaches [`Event::StorageChanged`] (the driver listens on a
//!   `BroadcastChannel` and to `storage` events, so one change may arrive twice): an identical
//!   session, a failure already counted, or an older token of the same login (a message that
//!   arrived late) changes nothing.
//!
//! # How one event becomes effects
//! [`SessionMachine::handle`] runs the same steps for every event, in `machine.rs`:
//!
//! 1. `advance` catches up with the clock: a session that expired beyond rescue ends before any
//!    call is answered from stale state.
//! 2. The event's handler runs: `calls.rs` for API calls and their replies, `me.rs` for `me()`,
//!    `refresh.rs` for a refresh (its lock, reply or failure), `tabs.rs` for storage and other
//!    tabs. [`Event::Tick`] has nothing to do here but forget the spent timer: time passing is
//!    steps 1, 3 and 5.
//! 3. `advance` again, now starting a refresh that is due (how the timer refreshes).
//! 4. A call that goes on once its token is settled (`me()`) turns that settlement into its
//!    next request.
//! 5. `reschedule` sets the one timer to the next instant anything may happen, or cancels it.
//! 6. The effects are put in [`Effect`] rank order, and a repeated [`Effect::Clear`] is dropped.
//!
//! The handlers never touch the backoff after failed refreshes: they tell the `RefreshBackoff`
//! (`backoff.rs`) what happened and ask it whether and when a refresh may go. The types a
//! driver sees are in `contract.rs`, the [`Session`] value in `value.rs`, its stored form and
//! the failures tabs share in `persisted.rs`; the tests are in `tests/`, one file per topic.
//!
//! [`StorageKind::is_shared`]: crate::logic::config::StorageKind::is_shared

mod backoff;
mod calls;
mod contract;
mod machine;
mod me;
mod persisted;
mod refresh;
mod tabs;
mod value;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use contract::{
    AuthEvent, Diagnostics, Effect, Event, Jitter, ListenerId, LockId, OpId, Outcome, Phase,
    RequestId,
};
pub use value::Session;

use std::time::Duration;

use crate::logic::config::Config;
use crate::logic::error::AuthError;
use crate::logic::time::Timestamp;

use backoff::RefreshBackoff;
use machine::Rng;
use me::{MeCall, Then};
use refresh::InFlight;

/// The longest delay a browser timer supports (`setTimeout` takes a signed 32-bit millisecond
/// count and fires at once beyond it); later wake-ups are reached in steps.
pub const MAX_TIMER_DELAY: Duration = Duration::from_millis(2_147_483_647);

/// The version of the persisted session format.
pub const PERSISTED_VERSION: u32 = 1;

/// While a refresh is held back (`Retry-After`, the attempt window, a planned retry), an access
/// token with less than this left is not handed out: a request takes time to reach the server,
/// and this one would arrive expired. Such a call is answered as if the token had expired
/// (a refresh if one may go now, else the reason it may not).
pub const MIN_TOKEN_LIFE_TO_SEND: Duration = Duration::from_millis(1000);

// The state is declared here, where every part of the machine can reach its fields; each module
// implements the methods of its own job.

/// The session state machine. See the module docs for how a driver uses it.
#[derive(Debug)]
pub struct SessionMachine {
    config: Config,
    /// Until [`Event::Start`]: the events fed so far, handled right after it.
    before_start: Option<Vec<Event>>,
    session: Option<Session>,
    refresh: Option<InFlight>,
    logins: Vec<(RequestId, OpId)>,
    /// Logins that a later `login()` or `logout()` replaced while their request was out: their
    /// reply installs nothing (see [`SessionMachine::supersede_logins`]).
    superseded_logins: Vec<RequestId>,
    logouts: Vec<(RequestId, OpId)>,
    /// The `me()` requests out.
    me_calls: Vec<MeCall>,
    /// Calls that go on once their token is settled (`me()`: send, or replay after a 401).
    continuations: Vec<(OpId, Then)>,
    /// The failed refreshes of the current session and what they hold back.
    backoff: RefreshBackoff,
    /// False once a storage write failed: storage may then lag behind this tab, so reading it
    /// under the lock must not undo our own state.
    storage_trusted: bool,
    last_error: Option<AuthError>,
    refresh_count: u64,
    last_refreshed_at: Option<Timestamp>,
    scheduled: Option<Timestamp>,
    next_id: u64,
    rng: Rng,
    /// The origin of the page, when the driver knows it: a same-origin `baseUrl` path and the
    /// page's origin spelled out name the same API (see [`SessionMachine::set_page_origin`]).
    page_origin: Option<String>,
    /// When the last session this machine ended (by expiry, logout or sign-out anywhere) was
    /// received: a tab message carrying a session received no later is a late one, about a
    /// session storage no longer holds (see [`SessionMachine::end_session`]).
    ended_received_at: Option<Timestamp>,
}
