//! What a driver exchanges with the machine: the ids it passes back, the [`Event`]s it feeds, the
//! [`Effect`]s it carries out (and their order), what a settled call resolves with ([`Outcome`]),
//! and what it can read back ([`Phase`], [`Diagnostics`]). The `Debug` impls redact passwords and
//! tokens: events and effects end up in logs.

use std::fmt;

use crate::logic::json::Json;

use crate::logic::error::AuthError;
use crate::logic::protocol::{HttpReply, HttpRequest};
use crate::logic::time::{ClockOffset, ClockSource, Timestamp};

use super::Session;

/// Identifies one API call whose promise waits for an [`Effect::Complete`]; chosen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// Identifies one `onAuthStateChange` listener, for its [`Effect::EmitInitial`]; chosen by the
/// driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub u64);

/// Identifies one request the machine asked for; pass it back in [`Event::Response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(super) u64);

impl RequestId {
    /// A request id a driver passes back as a number (the JavaScript driver keeps ids as
    /// numbers): an id the machine never issued is ignored by it, like a stale one.
    pub(crate) const fn from_raw(id: u64) -> Self {
        Self(id)
    }

    /// The id as a number (for driver maps and logs).
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Identifies one cross-tab lock request; pass it back in [`Event::LockAcquired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockId(pub(super) u64);

impl LockId {
    /// A lock id a driver passes back as a number (the JavaScript driver keeps ids as
    /// numbers): a lock the machine is not waiting for is released, like a stale one.
    pub(crate) const fn from_raw(id: u64) -> Self {
        Self(id)
    }

    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// The events `onAuthStateChange` listeners receive.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthEvent {
    /// The session as it stands when a listener subscribes ([`Effect::EmitInitial`]).
    InitialSession,
    /// A login succeeded, here or in another tab.
    SignedIn,
    /// The tokens were refreshed, here or in another tab.
    TokenRefreshed,
    /// The session ended: logout (here or in another tab) or a rejected refresh token.
    SignedOut,
    /// The access token expired and nothing could refresh it.
    SessionExpired,
    /// A refresh attempt failed. With a session: it is kept and retried. Without: the server
    /// rejected the refresh token, and `SIGNED_OUT` follows.
    RefreshFailed,
}

impl AuthEvent {
    /// The event's name in the public contract, e.g. `"TOKEN_REFRESHED"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InitialSession => "INITIAL_SESSION",
            Self::SignedIn => "SIGNED_IN",
            Self::TokenRefreshed => "TOKEN_REFRESHED",
            Self::SignedOut => "SIGNED_OUT",
            Self::SessionExpired => "SESSION_EXPIRED",
            Self::RefreshFailed => "REFRESH_FAILED",
        }
    }
}

impl fmt::Display for AuthEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened, fed to [`SessionMachine::handle`](super::SessionMachine::handle).
#[non_exhaustive]
pub enum Event {
    /// The driver started and read storage (`Ok(None)`: nothing stored). Events fed before it
    /// wait inside the machine and are handled right after it, in order: nothing can be decided
    /// before the stored session is known.
    Start {
        /// The stored value, or the error reading it.
        stored: Result<Option<String>, AuthError>,
    },
    /// `login(username, password)`.
    Login {
        /// The call's id.
        op: OpId,
        /// The username (or email).
        username: String,
        /// The password; only ever copied into the login request.
        password: String,
    },
    /// `refresh()`.
    Refresh {
        /// The call's id.
        op: OpId,
    },
    /// `getAccessToken()`, and `fetch()` before it sends to an allowed origin.
    GetAccessToken {
        /// The call's id.
        op: OpId,
    },
    /// A request carrying `token` got a 401: refresh once, then replay once.
    TokenRejected {
        /// The call's id.
        op: OpId,
        /// The access token the rejected request carried.
        token: String,
    },
    /// `logout()`.
    Logout {
        /// The call's id.
        op: OpId,
    },
    /// `me()`: GET the `me` endpoint with the token (refreshed first when expiring), refresh
    /// once and replay once on a 401; resolves with [`Outcome::Json`].
    Me {
        /// The call's id.
        op: OpId,
    },
    /// `onAuthStateChange(listener)`: the listener gets [`Effect::EmitInitial`], and every
    /// [`Effect::Emit`] after it.
    Subscribe {
        /// The listener's id.
        listener: ListenerId,
    },
    /// The reply to an [`Effect::Send`], or the network error if none came.
    Response {
        /// The id from the effect.
        request: RequestId,
        /// The reply, or a `network` error.
        result: Result<HttpReply, AuthError>,
    },
    /// The cross-tab lock was granted, and storage was read under it.
    LockAcquired {
        /// The id from [`Effect::AcquireLock`].
        lock: LockId,
        /// Storage as read after taking the lock.
        stored: Result<Option<String>, AuthError>,
    },
    /// Another tab changed the stored session (`None`: removed).
    StorageChanged {
        /// The new stored value.
        stored: Option<String>,
    },
    /// A [`Effect::Persist`] or [`Effect::Clear`] failed.
    StorageFailed {
        /// What the storage threw.
        error: AuthError,
    },
    /// The timer fired, or the page became visible or online again.
    Tick,
}

impl fmt::Debug for Event {
    /// Passwords and tokens are redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start { stored } => f
                .debug_struct("Start")
                .field(
                    "stored",
                    &stored.as_ref().map(|s| s.as_ref().map(|_| "[redacted]")),
                )
                .finish(),
            Self::Login { op, username, .. } => f
                .debug_struct("Login")
                .field("op", op)
                .field("username", username)
                .field("password", &"[redacted]")
                .finish(),
            Self::Refresh { op } => f.debug_struct("Refresh").field("op", op).finish(),
            Self::GetAccessToken { op } => {
                f.debug_struct("GetAccessToken").field("op", op).finish()
            }
            Self::TokenRejected { op, .. } => f
                .debug_struct("TokenRejected")
                .field("op", op)
                .field("token", &"[redacted]")
                .finish(),
            Self::Logout { op } => f.debug_struct("Logout").field("op", op).finish(),
            Self::Me { op } => f.debug_struct("Me").field("op", op).finish(),
            Self::Subscribe { listener } => f
                .debug_struct("Subscribe")
                .field("listener", listener)
                .finish(),
            Self::Response { request, result } => f
                .debug_struct("Response")
                .field("request", request)
                .field("status", &result.as_ref().map(|reply| reply.status))
                .finish(),
            Self::LockAcquired { lock, stored } => f
                .debug_struct("LockAcquired")
                .field("lock", lock)
                .field(
                    "stored",
                    &stored.as_ref().map(|s| s.as_ref().map(|_| "[redacted]")),
                )
                .finish(),
            Self::StorageChanged { stored } => f
                .debug_struct("StorageChanged")
                .field("stored", &stored.as_ref().map(|_| "[redacted]"))
                .finish(),
            Self::StorageFailed { error } => f
                .debug_struct("StorageFailed")
                .field("error", error)
                .finish(),
            Self::Tick => f.write_str("Tick"),
        }
    }
}

/// What a completed call resolves with.
#[non_exhaustive]
#[derive(Clone, PartialEq)]
pub enum Outcome {
    /// `login()` and `refresh()`: the session.
    Session(Session),
    /// `getAccessToken()` (and a `fetch()` token request): the token, or `None` when signed out.
    AccessToken(Option<String>),
    /// `logout()`.
    Done,
    /// `me()`: the JSON body of the `me` endpoint's reply.
    Json(Json),
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session(session) => f.debug_tuple("Session").field(session).finish(),
            Self::AccessToken(token) => f
                .debug_tuple("AccessToken")
                .field(&token.as_ref().map(|_| "[redacted]"))
                .finish(),
            Self::Done => f.write_str("Done"),
            // A user record: personal data, not for logs.
            Self::Json(_) => f.write_str("Json([redacted])"),
        }
    }
}

/// Something the driver must do, in the order returned.
#[non_exhaustive]
#[derive(Clone, PartialEq)]
pub enum Effect {
    /// Write `value` to storage under
    /// [`Config::storage_key`](crate::logic::config::Config::storage_key).
    Persist {
        /// The versioned JSON ([`Session::to_storage`]).
        value: String,
    },
    /// Remove the storage key.
    Clear,
    /// Release the cross-tab lock `lock`.
    ReleaseLock {
        /// Which lock.
        lock: LockId,
    },
    /// Send `http`; feed the outcome back as [`Event::Response`] with `request`.
    Send {
        /// The id to pass back.
        request: RequestId,
        /// The request, complete.
        http: HttpRequest,
    },
    /// Request the cross-tab lock; once granted, re-read storage and feed
    /// [`Event::LockAcquired`].
    AcquireLock {
        /// The id to pass back.
        lock: LockId,
    },
    /// Set the one timer to fire [`Event::Tick`] at `at` (local clock), replacing any other.
    ScheduleTick {
        /// When.
        at: Timestamp,
    },
    /// Stop the timer.
    CancelTick,
    /// Call the listeners with `(event, session)`.
    Emit {
        /// The event.
        event: AuthEvent,
        /// The session after the change (`None` when signed out).
        session: Option<Session>,
    },
    /// Call listener `listener` alone with `(INITIAL_SESSION, session)`; from then on it hears
    /// every [`Effect::Emit`] too.
    EmitInitial {
        /// The listener.
        listener: ListenerId,
        /// The session as it stands (`None` when signed out).
        session: Option<Session>,
    },
    /// Settle the promise of call `op`.
    Complete {
        /// Which call.
        op: OpId,
        /// Resolve with the outcome or reject with the error.
        result: Result<Outcome, AuthError>,
    },
}

impl Effect {
    /// The position of the effect in the returned order: state is written, then the lock is
    /// released, then I/O starts and the timer is set, then listeners hear about it, then
    /// callers. Listeners thus never run while the lock is held (the deadlock of supabase
    /// auth-js issue 762) and always see committed state.
    fn rank(&self) -> u8 {
        match self {
            Self::Persist { .. } | Self::Clear => 0,
            Self::ReleaseLock { .. } => 1,
            Self::Send { .. } | Self::AcquireLock { .. } => 2,
            Self::ScheduleTick { .. } | Self::CancelTick => 3,
            Self::Emit { .. } | Self::EmitInitial { .. } => 4,
            Self::Complete { .. } => 5,
        }
    }
}

/// `effects` ordered by [`Effect::rank`], keeping their order within each rank. A step yields a
/// handful of effects, so an insertion sort is cheap (one pass when they are in order already),
/// and it spares the wasm module the code of a general stable sort or of `partition`.
pub(super) fn in_rank_order(mut effects: Vec<Effect>) -> Vec<Effect> {
    for end in 1..effects.len() {
        // Move the effect at `end` back past every effect of a higher rank: never past one of
        // the same rank, so the order within a rank is kept.
        let mut at = end;
        while at > 0 && effects[at - 1].rank() > effects[at].rank() {
            effects.swap(at - 1, at);
            at -= 1;
        }
    }
    effects
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Persist { value } => f
                .debug_struct("Persist")
                .field("value", &format_args!("[{} bytes]", value.len()))
                .finish(),
            Self::Clear => f.write_str("Clear"),
            Self::ReleaseLock { lock } => {
                f.debug_struct("ReleaseLock").field("lock", lock).finish()
            }
            Self::Send { request, http } => f
                .debug_struct("Send")
                .field("request", request)
                .field("http", http)
                .finish(),
            Self::AcquireLock { lock } => {
                f.debug_struct("AcquireLock").field("lock", lock).finish()
            }
            Self::ScheduleTick { at } => f.debug_struct("ScheduleTick").field("at", at).finish(),
            Self::CancelTick => f.write_str("CancelTick"),
            Self::Emit { event, session } => f
                .debug_struct("Emit")
                .field("event", event)
                .field("session", session)
                .finish(),
            Self::EmitInitial { listener, session } => f
                .debug_struct("EmitInitial")
                .field("listener", listener)
                .field("session", session)
                .finish(),
            Self::Complete { op, result } => f
                .debug_struct("Complete")
                .field("op", op)
                .field("result", result)
                .finish(),
        }
    }
}

/// The state, summarised.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// No session.
    SignedOut,
    /// A session with a valid access token.
    SignedIn,
    /// A refresh is waiting for the lock or for its response.
    Refreshing,
    /// A session whose access token has expired, waiting for a refresh that can still succeed.
    Expired,
}

/// Where the random part of backoff jitter comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Jitter {
    /// A pseudo-random sequence from this seed (the driver seeds it from `Math.random()`).
    Seeded(u64),
    /// Always this value in `[0, 1]`: for deterministic tests.
    Fixed(f64),
}

/// A snapshot for debugging and support: what the machine knows and plans.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// The current phase.
    pub phase: Phase,
    /// When the access token expires (local clock).
    pub expires_at: Option<Timestamp>,
    /// When the next automatic refresh (or retry) is planned.
    pub next_refresh_at: Option<Timestamp>,
    /// The most recent error, from any operation.
    pub last_error: Option<AuthError>,
    /// The server clock offset of the current session.
    pub clock_offset: ClockOffset,
    /// What the clock offset was estimated from.
    pub clock_source: ClockSource,
    /// Successful refreshes made by this machine.
    pub refresh_count: u64,
    /// Failed refresh attempts since the last success.
    pub consecutive_failures: u32,
    /// No refresh before this instant (the server's `Retry-After`).
    pub retry_not_before: Option<Timestamp>,
}
