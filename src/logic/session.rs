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
//!    `Err(storage error)`).
//! 2. It turns every API call into an event with a fresh [`OpId`] and keeps the caller's promise
//!    under that id: `login()` → [`Event::Login`], `refresh()` → [`Event::Refresh`],
//!    `getAccessToken()` and `fetch()` (before sending, for allowed origins) →
//!    [`Event::GetAccessToken`], a 401 on a request sent with token `t` → [`Event::TokenRejected`]
//!    (once per `fetch`; never for the replay), `logout()` → [`Event::Logout`].
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
//!    written and the lock released, as the order guarantees); [`Effect::Complete`] settles the
//!    caller's promise.
//!
//! Composite calls are sequences of the above. `fetch(input)`: if the origin is allowed
//! ([`Config::allows_origin`]), get a token with [`Event::GetAccessToken`] (none: send without);
//! on a 401 feed [`Event::TokenRejected`] with the token used; a `Some(token)` outcome means
//! replay once with it, anything else means resolve with the original 401 response. `me()`: the
//! same with [`protocol::me_request`] and [`protocol::parse_json_reply`]; when the replay is not
//! possible it rejects with [`protocol::error_for`] of the original 401 (`not_authenticated`,
//! `token_expired` or `token_revoked`). Signed out, `me()` rejects with `not_authenticated`
//! without a request.
//!
//! `INITIAL_SESSION` is not an effect: it belongs to each subscriber, so the driver delivers
//! `(INITIAL_SESSION, machine.session())` a microtask after each `onAuthStateChange`.
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
//! [`StorageKind::is_shared`]: crate::logic::config::StorageKind::is_shared

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::logic::config::Config;
use crate::logic::error::{AuthError, ErrorCode};
use crate::logic::protocol::{self, Endpoint, HttpReply, HttpRequest, TokenReply};
use crate::logic::schedule::{self, AttemptWindow};
use crate::logic::time::{
    is_expired, ClockEvidence, ClockOffset, ClockSource, Timestamp, TokenTiming,
};
use crate::logic::token::{decode_unverified, Claims};

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

/// Identifies one API call whose promise waits for an [`Effect::Complete`]; chosen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

/// Identifies one request the machine asked for; pass it back in [`Event::Response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// The id as a number (for driver maps and logs).
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// Identifies one cross-tab lock request; pass it back in [`Event::LockAcquired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockId(u64);

impl LockId {
    /// The id as a number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// The events `onAuthStateChange` listeners receive.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthEvent {
    /// The session as it stands when a listener subscribes (delivered by the driver).
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

/// A signed-in session: the tokens, their decoded claims and their timing.
#[derive(Clone, PartialEq)]
pub struct Session {
    access_token: String,
    refresh_token: Option<String>,
    claims: Claims,
    expires_at: Option<Timestamp>,
    received_at: Timestamp,
    clock_offset: ClockOffset,
    clock_source: ClockSource,
    refresh_expires_at: Option<Timestamp>,
    lineage: String,
}

impl Session {
    /// A session from a login or refresh reply received at `received_at`.
    ///
    /// `previous_refresh_token` is kept when the reply has none (servers that do not rotate).
    /// `lineage` names the login this session descends from (kept across refreshes), so other
    /// tabs can tell a refresh from a new sign-in. Fails with `invalid_token` when the access
    /// token is not a JWT.
    pub fn from_tokens(
        tokens: TokenReply,
        previous_refresh_token: Option<&str>,
        received_at: Timestamp,
        lineage: &str,
    ) -> Result<Self, AuthError> {
        let claims = decode_unverified(&tokens.access_token)?.into_claims();
        let timing = TokenTiming::at_receipt(&ClockEvidence {
            received_at,
            server_date: tokens.server_date,
            iat: claims.iat(),
            exp: claims.exp(),
            expires_in: tokens.expires_in,
        });
        let refresh_token = tokens
            .refresh_token
            .or_else(|| previous_refresh_token.map(str::to_owned));
        // A refresh token that is itself a JWT tells when it stops working; an opaque one
        // does not, and is assumed valid until the server says otherwise.
        let refresh_expires_at = refresh_token
            .as_deref()
            .and_then(|token| decode_unverified(token).ok())
            .and_then(|token| token.claims().exp())
            .map(|exp| timing.clock_offset.to_local(exp));
        Ok(Self {
            access_token: tokens.access_token,
            refresh_token,
            claims,
            expires_at: timing.expires_at,
            received_at,
            clock_offset: timing.clock_offset,
            clock_source: timing.clock_source,
            refresh_expires_at,
            lineage: lineage.to_owned(),
        })
    }

    /// The access token (send as `Authorization: Bearer …`).
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, when the server gave one.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// The access token's claims (unverified: for the UI only).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// When the access token expires, on this device's clock (`exp` corrected for the server's
    /// clock offset, or `expires_in` after receipt, whichever is earlier).
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// When the access token expires as the server stated it: its `exp`, or receipt plus
    /// `expires_in` when it has no `exp`. This is the `expiresAt` apps see (the contract says
    /// "from exp"); decisions use [`Session::expires_at`], which corrects for clock skew.
    pub fn stated_expires_at(&self) -> Option<Timestamp> {
        self.claims.exp().or(self.expires_at)
    }

    /// When the tokens arrived (local clock).
    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }

    /// The server clock offset estimated when the tokens arrived.
    pub fn clock_offset(&self) -> ClockOffset {
        self.clock_offset
    }

    /// What the clock offset was estimated from.
    pub fn clock_source(&self) -> ClockSource {
        self.clock_source
    }

    /// When the refresh token expires (local clock), when it is a JWT with `exp`.
    pub fn refresh_expires_at(&self) -> Option<Timestamp> {
        self.refresh_expires_at
    }

    /// The id of the login this session descends from.
    pub fn lineage(&self) -> &str {
        &self.lineage
    }

    /// From receipt to expiry; zero without an expiry.
    pub fn lifetime(&self) -> Duration {
        self.expires_at
            .map(|at| at.duration_since(self.received_at))
            .unwrap_or(Duration::ZERO)
    }

    /// Whether the access token has expired at `now`, tolerating `leeway`. A token without an
    /// expiry never expires here (the server will say).
    pub fn is_expired(&self, now: Timestamp, leeway: Duration) -> bool {
        self.expires_at
            .is_some_and(|expires_at| is_expired(expires_at, now, leeway))
    }

    /// The versioned JSON kept in storage, unmarked: the machine also names the API the session
    /// belongs to when it persists one, and a value without that mark is read as anyone's.
    pub fn to_storage(&self) -> String {
        self.to_storage_with(None, None)
    }

    /// The versioned JSON kept in storage, marked with the API it belongs to and with the
    /// failed refreshes other tabs should know of.
    fn to_storage_with(&self, api: Option<&str>, retry: Option<&SharedRetry>) -> String {
        let persisted = PersistedSession {
            v: PERSISTED_VERSION,
            sid: self.lineage.clone(),
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            expires_at: self.expires_at.map(Timestamp::as_millis),
            received_at: self.received_at.as_millis(),
            clock_offset_ms: self.clock_offset.as_millis(),
            clock_source: Some(self.clock_source.as_str().to_owned()),
            refresh_expires_at: self.refresh_expires_at.map(Timestamp::as_millis),
            api: api.map(str::to_owned),
            retry: retry.map(SharedRetry::to_json),
        };
        // Serializing strings and integers cannot fail; an empty value would read back as a
        // storage error, never as a wrong session.
        serde_json::to_string(&persisted).unwrap_or_default()
    }

    /// A session from the JSON kept in storage. Anything else (not JSON, another version, a
    /// malformed token) is a `storage` error, never a panic.
    pub fn from_storage(text: &str) -> Result<Self, AuthError> {
        Self::from_storage_with_api(text).map(|(session, _)| session)
    }

    /// [`Session::from_storage`], and the API the value says it belongs to, if it says.
    fn from_storage_with_api(text: &str) -> Result<(Self, Option<String>), AuthError> {
        let garbage = |why: &str| AuthError::storage(format!("stored session is unusable: {why}"));
        let value: Value = serde_json::from_str(text).map_err(|_| garbage("not json"))?;
        match value.get("v").and_then(Value::as_u64) {
            Some(version) if version == u64::from(PERSISTED_VERSION) => {}
            Some(version) => return Err(garbage(&format!("unsupported version {version}"))),
            None => return Err(garbage("no version")),
        }
        let persisted: PersistedSession =
            serde_json::from_value(value).map_err(|_| garbage("wrong shape"))?;
        let claims = decode_unverified(&persisted.access_token)
            .map_err(|err| garbage("the access token is malformed").with_source(err))?
            .into_claims();
        let session = Self {
            access_token: persisted.access_token,
            refresh_token: persisted.refresh_token.filter(|token| !token.is_empty()),
            claims,
            expires_at: persisted.expires_at.map(Timestamp::from_millis),
            received_at: Timestamp::from_millis(persisted.received_at),
            clock_offset: ClockOffset::from_millis(persisted.clock_offset_ms),
            clock_source: persisted
                .clock_source
                .as_deref()
                .map_or(ClockSource::None, ClockSource::from_name),
            refresh_expires_at: persisted.refresh_expires_at.map(Timestamp::from_millis),
            lineage: persisted.sid,
        };
        Ok((session, persisted.api))
    }
}

impl fmt::Debug for Session {
    /// Tokens are redacted: sessions end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("received_at", &self.received_at)
            .field("clock_offset", &self.clock_offset)
            .field("clock_source", &self.clock_source)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("lineage", &self.lineage)
            .finish_non_exhaustive()
    }
}

/// Why a stored value is not taken as this machine's session.
enum Unusable {
    /// Not a session at all (not JSON, another version, a malformed token).
    Garbage(AuthError),
    /// A session of another API that shares the storage key.
    Foreign(AuthError),
}

/// What storage holds (version 1): JSON with camelCase fields and times in epoch milliseconds.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedSession {
    v: u32,
    sid: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
    received_at: i64,
    clock_offset_ms: i64,
    /// Where the offset came from ([`ClockSource::as_str`]); absent in values written before
    /// it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock_source: Option<String>,
    refresh_expires_at: Option<i64>,
    /// The API the session belongs to (its login endpoint), so that a client of another API
    /// sharing the storage key never adopts it: it would send these tokens to its own servers.
    /// Absent in values written before it existed, which are taken as ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api: Option<String>,
    /// Failed refreshes of this session, for other tabs ([`SharedRetry`]). Kept as raw JSON so
    /// a malformed value costs the hint, never the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry: Option<Value>,
}

/// A tab's failed refreshes of the stored session, stored with it so that the other tabs back
/// off together with that tab (see "Many tabs" in the module docs).
#[derive(Debug, Clone, PartialEq)]
struct SharedRetry {
    /// Failed attempts within the attempt window, oldest first.
    failed_at: Vec<Timestamp>,
    /// Consecutive failures (the backoff exponent).
    failures: u32,
    /// When the next attempt is planned.
    retry_at: Timestamp,
    /// The server's `Retry-After`, as an instant.
    not_before: Option<Timestamp>,
    /// The last error's code (always a retryable one) and status.
    code: ErrorCode,
    status: Option<u16>,
}

impl SharedRetry {
    /// At most this many failure times are stored: the window never holds more than a few.
    const MAX_STORED: usize = 16;

    fn to_json(&self) -> Value {
        let skip = self.failed_at.len().saturating_sub(Self::MAX_STORED);
        serde_json::json!({
            "failedAt": self.failed_at.iter().skip(skip).map(|at| at.as_millis()).collect::<Vec<_>>(),
            "failures": self.failures,
            "retryAt": self.retry_at.as_millis(),
            "notBefore": self.not_before.map(Timestamp::as_millis),
            "code": self.code.as_str(),
            "status": self.status,
        })
    }

    /// The failures stored with a session, if any. Lenient: anything malformed is no hint.
    /// Waits are capped as a `Retry-After` of our own would be ([`schedule::MAX_RETRY_AFTER`]
    /// from `now`), so a value from a hostile page or an old build cannot block refreshes for
    /// longer, in any tab or after a reload.
    fn from_storage(text: &str, now: Timestamp) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let retry = value.get("retry")?;
        let millis = |key: &str| {
            retry
                .get(key)
                .and_then(Value::as_i64)
                .map(Timestamp::from_millis)
        };
        let latest = now.saturating_add(schedule::MAX_RETRY_AFTER.max(schedule::BACKOFF_CAP));
        let code = retry.get("code").and_then(Value::as_str)?;
        let code = [
            ErrorCode::Network,
            ErrorCode::Server,
            ErrorCode::RateLimited,
        ]
        .into_iter()
        .find(|known| known.as_str() == code)?;
        let failed_at = retry
            .get("failedAt")
            .and_then(Value::as_array)?
            .iter()
            .take(Self::MAX_STORED)
            .filter_map(Value::as_i64)
            .map(Timestamp::from_millis)
            .collect();
        Some(Self {
            failed_at,
            failures: retry
                .get("failures")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())?,
            retry_at: millis("retryAt")?.min(latest),
            not_before: millis("notBefore").map(|at| at.min(latest)),
            code,
            status: retry
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok()),
        })
    }

    /// The error callers in this tab see for the other tab's failure.
    fn error(&self) -> AuthError {
        let error = AuthError::new(self.code, "the refresh failed in another tab");
        match self.status {
            Some(status) => error.with_status(status),
            None => error,
        }
    }
}

/// Something that happened, fed to [`SessionMachine::handle`].
#[non_exhaustive]
pub enum Event {
    /// The driver started and read storage (`Ok(None)`: nothing stored).
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
#[derive(Clone, PartialEq)]
pub enum Outcome {
    /// `login()` and `refresh()`: the session.
    Session(Session),
    /// `getAccessToken()` (and a `fetch()` token request): the token, or `None` when signed out.
    AccessToken(Option<String>),
    /// `logout()`.
    Done,
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
        }
    }
}

/// Something the driver must do, in the order returned.
#[non_exhaustive]
#[derive(Clone, PartialEq)]
pub enum Effect {
    /// Write `value` to storage under [`Config::storage_key`].
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
    /// The largest [`Effect::rank`].
    const LAST_RANK: u8 = 5;

    fn rank(&self) -> u8 {
        match self {
            Self::Persist { .. } | Self::Clear => 0,
            Self::ReleaseLock { .. } => 1,
            Self::Send { .. } | Self::AcquireLock { .. } => 2,
            Self::ScheduleTick { .. } | Self::CancelTick => 3,
            Self::Emit { .. } => 4,
            Self::Complete { .. } => 5,
        }
    }
}

/// `effects` ordered by [`Effect::rank`], keeping their order within each rank. A step yields a
/// handful of effects, so a pass per rank is cheap, and it spares the wasm module the code of a
/// general stable sort.
fn in_rank_order(effects: Vec<Effect>) -> Vec<Effect> {
    if effects
        .windows(2)
        .all(|pair| pair[0].rank() <= pair[1].rank())
    {
        return effects;
    }
    let mut ordered = Vec::with_capacity(effects.len());
    let mut rest = effects;
    for rank in 0..=Effect::LAST_RANK {
        let (now, later): (Vec<Effect>, Vec<Effect>) =
            rest.into_iter().partition(|effect| effect.rank() == rank);
        ordered.extend(now);
        rest = later;
    }
    ordered
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

/// What a caller waiting on a refresh wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wants {
    /// `refresh()`: the new session, or the error.
    Session,
    /// `getAccessToken()`: a usable token; the old one still does after a transient failure.
    AccessToken,
    /// A 401 replay: a token other than the rejected one, or the error.
    FreshToken,
}

#[derive(Debug, Clone, Copy)]
struct Waiter {
    op: OpId,
    wants: Wants,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the cross-tab lock.
    WaitingLock(LockId),
    /// The request is out; `lock` is held if shared storage is in use.
    Sending {
        request: RequestId,
        lock: Option<LockId>,
    },
}

struct InFlight {
    stage: Stage,
    waiters: Vec<Waiter>,
    /// The access token being replaced: if storage holds another one, another tab refreshed.
    from_token: String,
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("stage", &self.stage)
            .field("waiters", &self.waiters)
            .field("from_token", &"[redacted]")
            .finish()
    }
}

impl InFlight {
    fn held_lock(&self) -> Option<LockId> {
        match self.stage {
            Stage::WaitingLock(_) => None,
            Stage::Sending { lock, .. } => lock,
        }
    }
}

/// How waiting callers are settled.
enum Settle<'a> {
    /// A session is now in place (refreshed, adopted or logged in).
    With(&'a Session),
    /// The refresh failed; the session (if any) is what remains.
    Failed(&'a AuthError, Option<&'a Session>),
    /// The session is gone (logout, here or elsewhere).
    SignedOut,
}

/// The session state machine. See the module docs for how a driver uses it.
#[derive(Debug)]
pub struct SessionMachine {
    config: Config,
    session: Option<Session>,
    refresh: Option<InFlight>,
    logins: Vec<(RequestId, OpId)>,
    /// Logins that a later `login()` or `logout()` replaced while their request was out: their
    /// reply installs nothing (see [`SessionMachine::supersede_logins`]).
    superseded_logins: Vec<RequestId>,
    logouts: Vec<(RequestId, OpId)>,
    failures: u32,
    retry_at: Option<Timestamp>,
    not_before: Option<Timestamp>,
    window: AttemptWindow,
    /// A non-retryable, non-terminal refresh failure: stop refreshing this session.
    refresh_blocked: Option<AuthError>,
    /// False once a storage write failed: storage may then lag behind this tab, so reading it
    /// under the lock must not undo our own state.
    storage_trusted: bool,
    last_error: Option<AuthError>,
    refresh_count: u64,
    last_refreshed_at: Option<Timestamp>,
    scheduled: Option<Timestamp>,
    next_id: u64,
    jitter: Jitter,
    rng: u64,
    /// The origin of the page, when the driver knows it: a same-origin `baseUrl` path and the
    /// page's origin spelled out name the same API (see [`SessionMachine::set_page_origin`]).
    page_origin: Option<String>,
}

impl SessionMachine {
    /// A signed-out machine; feed [`Event::Start`] next.
    pub fn new(config: Config, jitter: Jitter) -> Self {
        Self {
            config,
            session: None,
            refresh: None,
            logins: Vec::new(),
            superseded_logins: Vec::new(),
            logouts: Vec::new(),
            failures: 0,
            retry_at: None,
            not_before: None,
            window: AttemptWindow::new(),
            refresh_blocked: None,
            storage_trusted: true,
            last_error: None,
            refresh_count: 0,
            last_refreshed_at: None,
            scheduled: None,
            next_id: 0,
            jitter,
            rng: match jitter {
                Jitter::Seeded(seed) => seed,
                Jitter::Fixed(_) => 0,
            },
            page_origin: None,
        }
    }

    /// Tells the machine the origin of the page it runs in (`location.origin`), before
    /// [`Event::Start`]. The API mark of stored sessions is then written as an absolute URL, and
    /// a mark written as a same-origin path (by a client given a relative `baseUrl`, or by one
    /// that did not know the origin) is read as this origin plus that path: the same API,
    /// configured once as `"/api"` and once as `"https://app.example/api"`, shares its session.
    pub fn set_page_origin(&mut self, origin: &str) {
        self.page_origin = Some(origin.trim_end_matches('/').to_owned());
    }

    /// `url` as an absolute URL: a same-origin path gets the page's origin, when known.
    fn on_page(&self, url: &str) -> String {
        match &self.page_origin {
            Some(origin) if url.starts_with('/') && !url.starts_with("//") => {
                format!("{origin}{url}")
            }
            _ => url.to_owned(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current session, if any (also while its token is expired but refreshable).
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The access token when [`Event::GetAccessToken`] at `now` would answer with it at once and
    /// change nothing else: signed in, no refresh in flight, the token neither expired nor due
    /// for a refresh (on demand or by the timer). `None` means "ask the machine".
    ///
    /// Drivers answer most `getAccessToken()` calls from here without an operation, an event or
    /// an effect list; the machine's answer would be the same (a test holds them equal).
    pub fn ready_access_token(&self, now: Timestamp) -> Option<&str> {
        let session = self.session.as_ref()?;
        if self.refresh.is_some() || session.is_expired(now, self.config.leeway()) {
            return None;
        }
        if self.can_refresh(session, now) {
            let timer_due = self.config.auto_refresh()
                && self.auto_refresh_at(session).is_some_and(|at| now >= at);
            if timer_due || self.is_due(session, now) {
                return None;
            }
        }
        Some(&session.access_token)
    }

    /// Whether there is a session whose access token is valid at `now`.
    pub fn is_authenticated(&self, now: Timestamp) -> bool {
        self.session
            .as_ref()
            .is_some_and(|session| !session.is_expired(now, self.config.leeway()))
    }

    /// The phase at `now`.
    pub fn phase(&self, now: Timestamp) -> Phase {
        match (&self.session, &self.refresh) {
            (None, _) => Phase::SignedOut,
            (Some(_), Some(_)) => Phase::Refreshing,
            (Some(session), None) if session.is_expired(now, self.config.leeway()) => {
                Phase::Expired
            }
            (Some(_), None) => Phase::SignedIn,
        }
    }

    /// A snapshot for debugging.
    pub fn diagnostics(&self, now: Timestamp) -> Diagnostics {
        let session = self.session.as_ref();
        Diagnostics {
            phase: self.phase(now),
            expires_at: session.and_then(Session::expires_at),
            next_refresh_at: session
                .filter(|session| self.config.auto_refresh() && self.can_refresh(session, now))
                .and_then(|session| self.auto_refresh_at(session)),
            last_error: self.last_error.clone(),
            clock_offset: session.map(Session::clock_offset).unwrap_or_default(),
            clock_source: session.map(Session::clock_source).unwrap_or_default(),
            refresh_count: self.refresh_count,
            consecutive_failures: self.failures,
            retry_not_before: self.not_before.filter(|at| *at > now),
        }
    }

    /// Handles one event at `now` (local clock) and returns the effects to execute, in order.
    pub fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Effect> {
        let mut out = Vec::new();
        if matches!(event, Event::Tick) {
            // The timer that brought us here has fired; whatever comes next must be re-armed.
            self.scheduled = None;
        }
        // Catch up first: after a sleep, a session that expired beyond rescue must end before
        // any call is answered from stale state. (Due refreshes start after the event, so a
        // logout on waking does not send a refresh first.)
        self.advance(now, false, &mut out);
        match event {
            Event::Start { stored } => self.on_start(stored, now, &mut out),
            Event::Login {
                op,
                username,
                password,
            } => self.on_login(op, &username, &password, &mut out),
            Event::Refresh { op } => self.on_refresh(op, now, &mut out),
            Event::GetAccessToken { op } => self.on_get_access_token(op, now, &mut out),
            Event::TokenRejected { op, token } => self.on_token_rejected(op, &token, now, &mut out),
            Event::Logout { op } => self.on_logout(op, now, &mut out),
            Event::Response { request, result } => self.on_response(request, result, now, &mut out),
            Event::LockAcquired { lock, stored } => self.on_lock(lock, stored, now, &mut out),
            Event::StorageChanged { stored } => self.on_storage_changed(stored, now, &mut out),
            Event::StorageFailed { error } => {
                self.storage_trusted = false;
                self.last_error = Some(error);
            }
            Event::Tick => {}
        }
        self.advance(now, true, &mut out);
        self.reschedule(now, &mut out);
        let mut out = in_rank_order(out);
        // An expiry and a logout in one step both clear storage; once is enough.
        out.dedup_by(|a, b| matches!((a, b), (Effect::Clear, Effect::Clear)));
        out
    }

    // ----- events -----

    fn on_start(
        &mut self,
        stored: Result<Option<String>, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.storage_trusted = true;
        match stored {
            Ok(None) => {}
            Ok(Some(text)) => match self.read_stored(&text) {
                Ok(session) => {
                    self.session = Some(session);
                    // A page opened while the server fails joins the other tabs' backoff.
                    self.merge_failures(&text, now);
                }
                Err(Unusable::Garbage(error)) => {
                    // Garbage is removed so it cannot fail every start.
                    self.last_error = Some(error);
                    out.push(Effect::Clear);
                }
                // Another API's session stays where it is: it is that client's, not garbage.
                Err(Unusable::Foreign(error)) => self.last_error = Some(error),
            },
            Err(error) => self.last_error = Some(error),
        }
    }

    fn on_login(&mut self, op: OpId, username: &str, password: &str, out: &mut Vec<Effect>) {
        self.supersede_logins(out);
        let http = protocol::login_request(&self.config, username, password);
        let request = self.next_request();
        self.logins.push((request, op));
        out.push(Effect::Send { request, http });
    }

    fn on_refresh(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        let waiter = Waiter {
            op,
            wants: Wants::Session,
        };
        let Some(session) = self.session.clone() else {
            return complete(out, op, Err(AuthError::not_authenticated("not signed in")));
        };
        if let Some(in_flight) = &mut self.refresh {
            return in_flight.waiters.push(waiter);
        }
        if !self.can_refresh(&session, now) {
            return complete(out, op, Err(self.cannot_refresh_error(&session, now)));
        }
        if let Some(error) = self.blocker(now) {
            return complete(out, op, Err(error));
        }
        self.begin_refresh(&session, vec![waiter], out);
    }

    fn on_get_access_token(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.session.clone() else {
            return complete(out, op, Ok(Outcome::AccessToken(None)));
        };
        if let Some(in_flight) = &mut self.refresh {
            return in_flight.waiters.push(Waiter {
                op,
                wants: Wants::AccessToken,
            });
        }
        let current = Ok(Outcome::AccessToken(Some(session.access_token.clone())));
        if !self.can_refresh(&session, now) {
            // `advance` already ended an expired session that cannot refresh.
            return complete(out, op, current);
        }
        if !self.is_due(&session, now) {
            return complete(out, op, current);
        }
        let expiring = session.is_expired(
            now.saturating_add(MIN_TOKEN_LIFE_TO_SEND),
            self.config.leeway(),
        );
        if !expiring {
            // The token still works: while retries are planned or paused, hand it out rather
            // than add requests against a failing server.
            let retry_pending = self.failures > 0 && self.retry_at.is_some_and(|at| now < at);
            if retry_pending || self.blocker(now).is_some() {
                return complete(out, op, current);
            }
        } else if let Some(error) = self.blocker(now) {
            return complete(out, op, Err(error));
        }
        let waiter = Waiter {
            op,
            wants: Wants::AccessToken,
        };
        self.begin_refresh(&session, vec![waiter], out);
    }

    fn on_token_rejected(&mut self, op: OpId, token: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.session.clone() else {
            return complete(out, op, Ok(Outcome::AccessToken(None)));
        };
        if session.access_token != token {
            // Refreshed since that request left: replay with the current token.
            return complete(
                out,
                op,
                Ok(Outcome::AccessToken(Some(session.access_token))),
            );
        }
        if let Some(in_flight) = &mut self.refresh {
            return in_flight.waiters.push(Waiter {
                op,
                wants: Wants::FreshToken,
            });
        }
        if !self.can_refresh(&session, now) {
            let error = AuthError::not_authenticated(
                "the server rejected the access token and the session cannot be refreshed",
            )
            .with_status(401);
            return complete(out, op, Err(error));
        }
        if let Some(error) = self.blocker(now) {
            return complete(out, op, Err(error));
        }
        let waiter = Waiter {
            op,
            wants: Wants::FreshToken,
        };
        self.begin_refresh(&session, vec![waiter], out);
    }

    /// The latest `login()` or `logout()` decides the session: the logins still waiting for
    /// their reply are settled now with `not_authenticated`, and their replies will install
    /// nothing. Without this, a logout during a login was undone when the login's reply came,
    /// and of two logins the slower reply won, not the later call.
    fn supersede_logins(&mut self, out: &mut Vec<Effect>) {
        for (request, op) in std::mem::take(&mut self.logins) {
            self.superseded_logins.push(request);
            let error =
                AuthError::not_authenticated("a later login() or logout() replaced this login");
            complete(out, op, Err(error));
        }
    }

    /// The reply to a superseded login: a session the server granted anyway is logged out
    /// there (when the server has a logout endpoint), so it is not left open unseen. The
    /// logout's own reply answers no caller and is ignored.
    fn on_superseded_login_reply(
        &mut self,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let fields = self.config.response_fields();
        let Ok(tokens) = result
            .and_then(|reply| protocol::parse_token_reply(Endpoint::Login, &reply, fields, now))
        else {
            return;
        };
        if let Some(http) = protocol::logout_replaced_request(&self.config, &tokens.access_token) {
            let request = self.next_request();
            out.push(Effect::Send { request, http });
        }
    }

    /// A login made while signed in replaces the session here, and must not leave the old one
    /// open on the server, where its refresh token would stay valid unseen: it is logged out
    /// there, best effort like `logout()` (when the server has a logout endpoint). The reply
    /// answers no caller and is ignored.
    fn log_out_replaced(&mut self, replaced: Option<Session>, by: &Session, out: &mut Vec<Effect>) {
        let Some(old) = replaced.filter(|old| old.access_token != by.access_token) else {
            return;
        };
        if let Some(http) = protocol::logout_replaced_request(&self.config, &old.access_token) {
            let request = self.next_request();
            out.push(Effect::Send { request, http });
        }
    }

    fn on_logout(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        self.supersede_logins(out);
        let session = self.session.take();
        self.reset_refresh_state();
        self.abandon_refresh(Settle::SignedOut, now, out);
        // Cleared even when nothing was held: storage may hold what we could not parse.
        out.push(Effect::Clear);
        let Some(session) = session else {
            return complete(out, op, Ok(Outcome::Done));
        };
        out.push(Effect::Emit {
            event: AuthEvent::SignedOut,
            session: None,
        });
        match protocol::logout_request(&self.config, &session.access_token) {
            Some(http) => {
                let request = self.next_request();
                self.logouts.push((request, op));
                out.push(Effect::Send { request, http });
            }
            None => complete(out, op, Ok(Outcome::Done)),
        }
    }

    fn on_response(
        &mut self,
        request: RequestId,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if let Some(index) = self.logins.iter().position(|(id, _)| *id == request) {
            let (_, op) = self.logins.remove(index);
            return self.on_login_reply(op, result, now, out);
        }
        if let Some(index) = self.superseded_logins.iter().position(|id| *id == request) {
            self.superseded_logins.remove(index);
            return self.on_superseded_login_reply(result, now, out);
        }
        if let Some(index) = self.logouts.iter().position(|(id, _)| *id == request) {
            let (_, op) = self.logouts.remove(index);
            // Local state is already gone; a failed server logout is only worth a diagnostic.
            if let Err(error) = result.and_then(|reply| protocol::parse_logout_reply(&reply, now)) {
                self.last_error = Some(error);
            }
            return complete(out, op, Ok(Outcome::Done));
        }
        let is_current_refresh = matches!(
            &self.refresh,
            Some(InFlight { stage: Stage::Sending { request: id, .. }, .. }) if *id == request
        );
        if is_current_refresh {
            self.on_refresh_reply(result, now, out);
        }
        // Anything else answers a request the machine has moved past: ignored.
    }

    fn on_login_reply(
        &mut self,
        op: OpId,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let lineage = self.next_lineage();
        let fields = self.config.response_fields();
        let session = result.and_then(|reply| {
            let tokens = protocol::parse_token_reply(Endpoint::Login, &reply, fields, now)?;
            // A reply was received: a token that does not decode still reports its status.
            Session::from_tokens(tokens, None, now, &lineage)
                .map_err(|error| error.with_status(reply.status))
        });
        match session {
            Ok(session) => {
                let replaced = self.session.replace(session.clone());
                self.log_out_replaced(replaced, &session, out);
                self.reset_refresh_state();
                self.abandon_refresh(Settle::With(&session), now, out);
                out.push(self.persist(&session, None));
                out.push(Effect::Emit {
                    event: AuthEvent::SignedIn,
                    session: Some(session.clone()),
                });
                complete(out, op, Ok(Outcome::Session(session)));
            }
            Err(error) => {
                self.last_error = Some(error.clone());
                complete(out, op, Err(error));
            }
        }
    }

    fn on_refresh_reply(
        &mut self,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(in_flight) = self.refresh.take() else {
            return;
        };
        if let Some(lock) = in_flight.held_lock() {
            out.push(Effect::ReleaseLock { lock });
        }
        let Some(current) = self.session.clone() else {
            return settle(
                out,
                &in_flight.waiters,
                Settle::SignedOut,
                now,
                &self.config,
            );
        };
        let fields = self.config.response_fields();
        let refreshed = result.and_then(|reply| {
            let tokens = protocol::parse_token_reply(Endpoint::Refresh, &reply, fields, now)?;
            Session::from_tokens(tokens, current.refresh_token(), now, &current.lineage)
                .map_err(|error| error.with_status(reply.status))
        });
        match refreshed {
            Ok(session) => {
                self.session = Some(session.clone());
                self.reset_refresh_state();
                self.refresh_count = self.refresh_count.saturating_add(1);
                self.last_refreshed_at = Some(now);
                out.push(self.persist(&session, None));
                out.push(Effect::Emit {
                    event: AuthEvent::TokenRefreshed,
                    session: Some(session.clone()),
                });
                settle(
                    out,
                    &in_flight.waiters,
                    Settle::With(&session),
                    now,
                    &self.config,
                );
            }
            Err(error) => self.on_refresh_error(error, &in_flight.waiters, now, out),
        }
    }

    fn on_refresh_error(
        &mut self,
        error: AuthError,
        waiters: &[Waiter],
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.last_error = Some(error.clone());
        if error.code() == ErrorCode::RefreshFailed {
            // The server rejected the refresh token: the session is over.
            self.session = None;
            self.reset_refresh_state();
            out.push(Effect::Clear);
            out.push(Effect::Emit {
                event: AuthEvent::RefreshFailed,
                session: None,
            });
            out.push(Effect::Emit {
                event: AuthEvent::SignedOut,
                session: None,
            });
            return settle(
                out,
                waiters,
                Settle::Failed(&error, None),
                now,
                &self.config,
            );
        }
        self.window.record_failure(now);
        if error.is_retryable() {
            self.failures = self.failures.saturating_add(1);
            let delay =
                schedule::backoff_delay(self.failures, self.next_jitter(), error.retry_after());
            self.retry_at = Some(now.saturating_add(delay));
            self.not_before = error.retry_after().map(|wait| now.saturating_add(wait));
            self.share_failures(out);
        } else {
            // An unusable answer (a 404 page, a malformed token): retrying will not help, so
            // the session runs until its token expires and then ends.
            self.refresh_blocked = Some(error.clone());
        }
        out.push(Effect::Emit {
            event: AuthEvent::RefreshFailed,
            session: self.session.clone(),
        });
        let session = self.session.clone();
        settle(
            out,
            waiters,
            Settle::Failed(&error, session.as_ref()),
            now,
            &self.config,
        );
    }

    fn on_lock(
        &mut self,
        lock: LockId,
        stored: Result<Option<String>, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let waiting = matches!(
            &self.refresh,
            Some(InFlight { stage: Stage::WaitingLock(id), .. }) if *id == lock
        );
        if !waiting {
            // A lock for a refresh that was abandoned meanwhile.
            return out.push(Effect::ReleaseLock { lock });
        }
        if !self.storage_trusted {
            return self.send_refresh(Some(lock), out);
        }
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                self.last_error = Some(error);
                return self.send_refresh(Some(lock), out);
            }
        };
        let Some(text) = stored else {
            // Another tab signed out while we waited.
            out.push(Effect::ReleaseLock { lock });
            return self.signed_out_elsewhere(now, out);
        };
        let stored = match self.read_stored(&text) {
            Ok(stored) => stored,
            Err(Unusable::Garbage(error) | Unusable::Foreign(error)) => {
                // Our refresh will overwrite it: in this tab, our session is the one in use.
                self.last_error = Some(error);
                return self.send_refresh(Some(lock), out);
            }
        };
        let from_token = self
            .refresh
            .as_ref()
            .map(|in_flight| in_flight.from_token.clone())
            .unwrap_or_default();
        if stored.access_token != from_token {
            // Another tab refreshed (or signed in) first.
            self.adopt(stored.clone(), out);
            let failed_there = self.absorb_failures(&text, now, out);
            if !self.is_due(&stored, now) {
                out.push(Effect::ReleaseLock { lock });
                if let Some(in_flight) = self.refresh.take() {
                    settle(
                        out,
                        &in_flight.waiters,
                        Settle::With(&stored),
                        now,
                        &self.config,
                    );
                }
                return;
            }
            // Theirs is stale too: refresh it, with its (possibly rotated) refresh token.
            if let Some(in_flight) = &mut self.refresh {
                in_flight.from_token = stored.access_token.clone();
            }
            if !failed_there {
                return self.send_refresh(Some(lock), out);
            }
        } else if !self.absorb_failures(&text, now, out) {
            return self.send_refresh(Some(lock), out);
        }
        // Another tab has just failed to refresh this session: go by the shared backoff.
        self.send_or_hold_back(lock, now, out);
    }

    /// Under the lock, after learning that another tab's refresh has just failed: sends this
    /// refresh if its callers would still get one after a failure of this tab's own, and
    /// otherwise releases the lock and answers them as after such a failure.
    fn send_or_hold_back(&mut self, lock: LockId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.session.clone() else {
            out.push(Effect::ReleaseLock { lock });
            return self.abandon_refresh(Settle::SignedOut, now, out);
        };
        let waiters = self
            .refresh
            .as_ref()
            .map(|in_flight| in_flight.waiters.clone())
            .unwrap_or_default();
        let Some(error) = self.hold_back(&session, &waiters, now) else {
            return self.send_refresh(Some(lock), out);
        };
        out.push(Effect::ReleaseLock { lock });
        if let Some(in_flight) = self.refresh.take() {
            settle(
                out,
                &in_flight.waiters,
                Settle::Failed(&error, Some(&session)),
                now,
                &self.config,
            );
        }
    }

    /// Why a refresh for `waiters` should not be sent at `now` given the failures known, with
    /// the rules of the calls that start one: the timer waits for the planned retry;
    /// `refresh()`, a 401 replay and a caller whose token has expired wait only for
    /// `Retry-After` and the attempt window; a caller whose token still works gets it.
    fn hold_back(
        &self,
        session: &Session,
        waiters: &[Waiter],
        now: Timestamp,
    ) -> Option<AuthError> {
        let last_error = || {
            self.last_error
                .clone()
                .unwrap_or_else(|| AuthError::server("the last refresh failed"))
        };
        if waiters.is_empty() {
            let planned = self.auto_refresh_at(session);
            return planned.is_some_and(|at| now < at).then(last_error);
        }
        if let Some(error) = self.blocker(now) {
            return Some(error);
        }
        let token_only = waiters
            .iter()
            .all(|waiter| waiter.wants == Wants::AccessToken);
        let retry_pending = self.failures > 0 && self.retry_at.is_some_and(|at| now < at);
        (token_only && retry_pending && !session.is_expired(now, self.config.leeway()))
            .then(last_error)
    }

    fn on_storage_changed(
        &mut self,
        stored: Option<String>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(text) = stored else {
            if self.session.is_some() {
                self.signed_out_elsewhere(now, out);
            }
            return;
        };
        let stored = match self.read_stored(&text) {
            Ok(stored) => stored,
            Err(Unusable::Garbage(error) | Unusable::Foreign(error)) => {
                // Another tab wrote something we cannot read, or must not use; keep what we
                // have.
                self.last_error = Some(error);
                return;
            }
        };
        let (same, replaced) = match &self.session {
            Some(current) if current.access_token == stored.access_token => (true, false),
            Some(current) => {
                let older = match (stored.stated_expires_at(), current.stated_expires_at()) {
                    (Some(theirs), Some(ours)) => theirs < ours,
                    _ => false,
                };
                (false, older && stored.lineage == current.lineage)
            }
            None => (false, false),
        };
        if same {
            // The same session (or this change seen twice): at most news of a failure. A
            // refresh in flight learns of it under the lock instead.
            if self.refresh.is_none() {
                self.absorb_failures(&text, now, out);
            }
            return;
        }
        if replaced {
            // A late message about a token this tab has already replaced.
            return;
        }
        self.adopt(stored.clone(), out);
        self.abandon_refresh(Settle::With(&stored), now, out);
        self.absorb_failures(&text, now, out);
    }

    // ----- transitions -----

    /// Acts on the passage of time: ends a session that expired beyond rescue and, with
    /// `start_refresh`, starts a refresh that is due.
    fn advance(&mut self, now: Timestamp, start_refresh: bool, out: &mut Vec<Effect>) {
        let Some(session) = self.session.clone() else {
            return;
        };
        if self.refresh.is_some() {
            return;
        }
        if !self.can_refresh(&session, now) {
            if session.is_expired(now, self.config.leeway()) {
                self.session = None;
                self.reset_refresh_state();
                out.push(Effect::Clear);
                out.push(Effect::Emit {
                    event: AuthEvent::SessionExpired,
                    session: None,
                });
            }
            return;
        }
        let due = self.auto_refresh_at(&session).is_some_and(|at| now >= at);
        if start_refresh && self.config.auto_refresh() && due {
            self.begin_refresh(&session, Vec::new(), out);
        }
    }

    /// Starts a refresh of `session` for `waiters`: under the cross-tab lock with shared
    /// storage, directly otherwise.
    fn begin_refresh(&mut self, session: &Session, waiters: Vec<Waiter>, out: &mut Vec<Effect>) {
        if self.config.storage().is_shared() {
            let lock = LockId(self.next_id());
            self.refresh = Some(InFlight {
                stage: Stage::WaitingLock(lock),
                waiters,
                from_token: session.access_token.clone(),
            });
            out.push(Effect::AcquireLock { lock });
        } else {
            // The stage is replaced by `send_refresh` at once.
            self.refresh = Some(InFlight {
                stage: Stage::WaitingLock(LockId(0)),
                waiters,
                from_token: session.access_token.clone(),
            });
            self.send_refresh(None, out);
        }
    }

    /// Sends the refresh request for the current session, holding `lock` if any.
    fn send_refresh(&mut self, lock: Option<LockId>, out: &mut Vec<Effect>) {
        let http = self
            .session
            .as_ref()
            .and_then(|session| protocol::refresh_request(&self.config, session.refresh_token()));
        let Some(http) = http else {
            // Unreachable in practice (callers check `can_refresh`); fail safe, never hang.
            if let Some(lock) = lock {
                out.push(Effect::ReleaseLock { lock });
            }
            if let Some(in_flight) = self.refresh.take() {
                let error =
                    AuthError::new(ErrorCode::RefreshFailed, "this session cannot be refreshed");
                for waiter in in_flight.waiters {
                    complete(out, waiter.op, Err(error.clone()));
                }
            }
            return;
        };
        let request = self.next_request();
        if let Some(in_flight) = &mut self.refresh {
            in_flight.stage = Stage::Sending { request, lock };
        }
        out.push(Effect::Send { request, http });
    }

    /// Drops the in-flight refresh (its reply or lock will be ignored or released) and settles
    /// its waiters.
    fn abandon_refresh(&mut self, how: Settle<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        if let Some(in_flight) = self.refresh.take() {
            if let Some(lock) = in_flight.held_lock() {
                out.push(Effect::ReleaseLock { lock });
            }
            settle(out, &in_flight.waiters, how, now, &self.config);
        }
    }

    /// Takes over a session another tab stored.
    fn adopt(&mut self, stored: Session, out: &mut Vec<Effect>) {
        let event = match &self.session {
            Some(current) if current.lineage == stored.lineage => AuthEvent::TokenRefreshed,
            _ => AuthEvent::SignedIn,
        };
        self.session = Some(stored.clone());
        self.reset_refresh_state();
        out.push(Effect::Emit {
            event,
            session: Some(stored),
        });
    }

    /// Another tab removed the session.
    /// What this machine writes to storage for `session`: the value marked with our API (see
    /// [`Self::read_stored`]).
    fn persist(&self, session: &Session, retry: Option<&SharedRetry>) -> Effect {
        let api = self.on_page(&self.config.endpoints().login);
        Effect::Persist {
            value: session.to_storage_with(Some(&api), retry),
        }
    }

    /// A stored value as a session of ours. A value marked with another API is refused: two
    /// clients of different APIs given the same `storageKey` would otherwise adopt each other's
    /// sessions and send those tokens, the refresh token included, to their own servers.
    fn read_stored(&self, text: &str) -> Result<Session, Unusable> {
        let (session, api) = Session::from_storage_with_api(text).map_err(Unusable::Garbage)?;
        match api {
            Some(api) if self.on_page(&api) != self.on_page(&self.config.endpoints().login) => {
                Err(Unusable::Foreign(AuthError::storage(format!(
                    "storageKey holds the session of another API ({api}); give each AuthClient \
                     its own storageKey"
                ))))
            }
            _ => Ok(session),
        }
    }

    fn signed_out_elsewhere(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = self.session.take() else {
            return;
        };
        // The other tab ended it at expiry: say so here too, so all tabs raise the same event.
        let expired =
            session.is_expired(now, self.config.leeway()) && !self.can_refresh(&session, now);
        self.reset_refresh_state();
        self.abandon_refresh(Settle::SignedOut, now, out);
        out.push(Effect::Emit {
            event: if expired {
                AuthEvent::SessionExpired
            } else {
                AuthEvent::SignedOut
            },
            session: None,
        });
    }

    /// With shared storage, stores the session together with its failed refreshes, so the other
    /// tabs back off with this one instead of retrying on their own.
    fn share_failures(&self, out: &mut Vec<Effect>) {
        if !self.config.storage().is_shared() {
            return;
        }
        let (Some(session), Some(retry_at), Some(error)) =
            (&self.session, self.retry_at, &self.last_error)
        else {
            return;
        };
        let retry = SharedRetry {
            failed_at: self.window.recent().to_vec(),
            failures: self.failures,
            retry_at,
            not_before: self.not_before,
            code: error.code(),
            status: error.status(),
        };
        out.push(self.persist(session, Some(&retry)));
    }

    /// Counts the failed refreshes another tab stored with the current session as this tab's
    /// own: the window, the backoff step, `Retry-After`. Returns whether any was news.
    fn merge_failures(&mut self, text: &str, now: Timestamp) -> bool {
        let Some(shared) = SharedRetry::from_storage(text, now) else {
            return false;
        };
        // `merge` must run whatever the `Retry-After` says: it records the failures.
        let counted = self.window.merge(&shared.failed_at, now);
        let held_back = shared
            .not_before
            .is_some_and(|at| at > now && Some(at) > self.not_before);
        if !counted && !held_back {
            return false;
        }
        if shared.failures > self.failures {
            self.failures = shared.failures;
            self.retry_at = Some(shared.retry_at);
        } else if shared.failures == self.failures {
            self.retry_at = self.retry_at.max(Some(shared.retry_at));
        }
        self.not_before = self.not_before.max(shared.not_before);
        self.last_error = Some(shared.error());
        true
    }

    /// [`Self::merge_failures`], raising `REFRESH_FAILED` here too when there was news.
    fn absorb_failures(&mut self, text: &str, now: Timestamp, out: &mut Vec<Effect>) -> bool {
        let news = self.merge_failures(text, now);
        if news {
            out.push(Effect::Emit {
                event: AuthEvent::RefreshFailed,
                session: self.session.clone(),
            });
        }
        news
    }

    /// Sets the timer to the next instant something may happen.
    fn reschedule(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let wanted = self
            .next_wake(now)
            .map(|at| at.max(now).min(now.saturating_add(MAX_TIMER_DELAY)));
        if wanted != self.scheduled {
            self.scheduled = wanted;
            out.push(match wanted {
                Some(at) => Effect::ScheduleTick { at },
                None => Effect::CancelTick,
            });
        }
    }

    fn next_wake(&self, now: Timestamp) -> Option<Timestamp> {
        let session = self.session.as_ref()?;
        if self.refresh.is_some() {
            return None;
        }
        let refreshable = self.can_refresh(session, now);
        let refresh = if refreshable && self.config.auto_refresh() {
            self.auto_refresh_at(session)
        } else {
            None
        };
        // When the session becomes unrecoverable, `advance` must run to end it.
        let end = if refreshable {
            session.refresh_expires_at
        } else {
            session
                .expires_at
                .map(|at| at.saturating_add(self.config.leeway()))
        };
        match (refresh, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- rules -----

    /// Whether `session` can be refreshed at `now`.
    fn can_refresh(&self, session: &Session, now: Timestamp) -> bool {
        self.refresh_blocked.is_none()
            && protocol::can_refresh(&self.config, session.refresh_token())
            && session.refresh_expires_at.is_none_or(|at| now < at)
    }

    /// Why `session` cannot be refreshed, as the error `refresh()` rejects with.
    fn cannot_refresh_error(&self, session: &Session, now: Timestamp) -> AuthError {
        if let Some(error) = &self.refresh_blocked {
            return error.clone();
        }
        if !self.config.has_refresh_endpoint() {
            return AuthError::config(
                "this server has no refresh endpoint (endpoints.refresh is null)",
            );
        }
        if session.refresh_expires_at.is_some_and(|at| now >= at) {
            return AuthError::new(ErrorCode::RefreshFailed, "the refresh token has expired");
        }
        AuthError::new(ErrorCode::RefreshFailed, "the server gave no refresh token")
    }

    /// The automatic refresh time of `session`: due time (or the retry time after failures),
    /// never before `Retry-After`, the attempt window, or one interval after the last refresh.
    fn auto_refresh_at(&self, session: &Session) -> Option<Timestamp> {
        let expires_at = session.expires_at?;
        let due =
            schedule::refresh_due_at(expires_at, session.lifetime(), self.config.refresh_margin());
        let mut at = match self.retry_at {
            Some(retry_at) if self.failures > 0 => retry_at,
            _ => due,
        };
        if let Some(not_before) = self.not_before {
            at = at.max(not_before);
        }
        if let Some(last) = self.last_refreshed_at {
            at = at.max(last.saturating_add(schedule::MIN_REFRESH_INTERVAL));
        }
        if let Some(until) = self.window.blocked_until(at) {
            at = until;
        }
        Some(at)
    }

    /// Whether `session` is within its refresh margin at `now`.
    fn is_due(&self, session: &Session, now: Timestamp) -> bool {
        session.expires_at.is_some_and(|expires_at| {
            now >= schedule::refresh_due_at(
                expires_at,
                session.lifetime(),
                self.config.refresh_margin(),
            )
        })
    }

    /// Why an on-demand refresh may not be sent now, if it may not.
    fn blocker(&self, now: Timestamp) -> Option<AuthError> {
        if let Some(not_before) = self.not_before.filter(|at| now < *at) {
            let wait = not_before.duration_since(now);
            return Some(
                AuthError::new(
                    ErrorCode::RateLimited,
                    "waiting before the next refresh, as the server asked",
                )
                .with_retry_after(wait),
            );
        }
        let until = self.window.blocked_until(now)?;
        let (code, status) = self
            .last_error
            .as_ref()
            .map(|error| (error.code(), error.status()))
            .unwrap_or((ErrorCode::RateLimited, None));
        let mut error = AuthError::new(code, "refresh paused after repeated failures")
            .with_retry_after(until.duration_since(now));
        if let Some(status) = status {
            error = error.with_status(status);
        }
        Some(error)
    }

    fn reset_refresh_state(&mut self) {
        self.failures = 0;
        self.retry_at = None;
        self.not_before = None;
        self.window.clear();
        self.refresh_blocked = None;
    }

    fn next_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn next_request(&mut self) -> RequestId {
        RequestId(self.next_id())
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: tiny, well distributed, and needs no crate.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_jitter(&mut self) -> f64 {
        match self.jitter {
            Jitter::Fixed(value) => value,
            // The top 53 bits as a fraction in [0, 1).
            Jitter::Seeded(_) => (self.next_random() >> 11) as f64 / (1u64 << 53) as f64,
        }
    }

    fn next_lineage(&mut self) -> String {
        let id = self.next_id();
        format!("{:016x}{id:x}", self.next_random())
    }
}

fn complete(out: &mut Vec<Effect>, op: OpId, result: Result<Outcome, AuthError>) {
    out.push(Effect::Complete { op, result });
}

/// Settles every waiter of a refresh.
fn settle(
    out: &mut Vec<Effect>,
    waiters: &[Waiter],
    how: Settle<'_>,
    now: Timestamp,
    config: &Config,
) {
    for waiter in waiters {
        let result = match (&how, waiter.wants) {
            (Settle::With(session), Wants::Session) => Ok(Outcome::Session((*session).clone())),
            (Settle::With(session), Wants::AccessToken | Wants::FreshToken) => {
                Ok(Outcome::AccessToken(Some(session.access_token.clone())))
            }
            (Settle::Failed(_, Some(session)), Wants::AccessToken)
                if !session.is_expired(now, config.leeway()) =>
            {
                // A transient failure never takes away a token that still works.
                Ok(Outcome::AccessToken(Some(session.access_token.clone())))
            }
            (Settle::Failed(error, _), _) => Err((*error).clone()),
            (Settle::SignedOut, Wants::Session) => Err(AuthError::not_authenticated(
                "signed out during the refresh",
            )),
            (Settle::SignedOut, Wants::AccessToken | Wants::FreshToken) => {
                Ok(Outcome::AccessToken(None))
            }
        };
        complete(out, waiter.op, result);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::logic::config::AuthClientOptions;
    use serde_json::json;

    /// The test epoch, in seconds: every time below is relative to it.
    const T0: i64 = 1_700_000_000;

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_millis(T0 * 1000 + (secs * 1000.0).round() as i64)
    }

    fn base64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    fn jwt(claims: Value) -> String {
        let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = base64url(claims.to_string().as_bytes());
        format!("{header}.{payload}.c2ln")
    }

    /// An access token named `jti`, expiring `lifetime` seconds after `issued` (no `iat`, so
    /// no clock offset is estimated unless a test asks for one).
    fn access(jti: &str, issued: f64, lifetime: f64) -> String {
        let exp = (T0 as f64) + issued + lifetime;
        jwt(json!({"sub": "1", "jti": jti, "exp": exp}))
    }

    fn token_reply(access_token: &str, refresh_token: Option<&str>) -> HttpReply {
        let mut body = json!({"access_token": access_token, "token_type": "bearer"});
        if let Some(refresh_token) = refresh_token {
            body["refresh_token"] = json!(refresh_token);
        }
        HttpReply::json(200, body.to_string())
    }

    fn status(code: u16, body: &str) -> HttpReply {
        HttpReply::json(code, body)
    }

    fn config(json: &str) -> Config {
        let options: AuthClientOptions = serde_json::from_str(json).expect("options parse");
        Config::resolve(options).expect("options are valid")
    }

    fn memory() -> Config {
        config(r#"{"baseUrl": "https://api.test", "storage": "memory"}"#)
    }

    fn local() -> Config {
        config(r#"{"baseUrl": "https://api.test"}"#)
    }

    fn v1() -> Config {
        config(r#"{"baseUrl": "https://api.test", "profile": "v1", "storage": "memory"}"#)
    }

    fn jti(token: &str) -> String {
        decode_unverified(token)
            .ok()
            .and_then(|t| {
                t.claims()
                    .get("jti")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "?".to_owned())
    }

    fn rel(at: &Timestamp) -> String {
        format!("{}", (at.as_millis() - T0 * 1000) as f64 / 1000.0)
    }

    fn describe(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .map(|effect| match effect {
                Effect::Persist { value } => {
                    let session = Session::from_storage(value).expect("persisted value reads back");
                    format!("persist {}", jti(session.access_token()))
                }
                Effect::Clear => "clear".to_owned(),
                Effect::ReleaseLock { .. } => "unlock".to_owned(),
                Effect::Send { http, .. } => format!("send {}", http.endpoint.name()),
                Effect::AcquireLock { .. } => "lock".to_owned(),
                Effect::ScheduleTick { at } => format!("tick {}", rel(at)),
                Effect::CancelTick => "cancel tick".to_owned(),
                Effect::Emit { event, session } => format!(
                    "emit {} {}",
                    event.as_str(),
                    session
                        .as_ref()
                        .map(|s| jti(s.access_token()))
                        .unwrap_or_else(|| "null".to_owned())
                ),
                Effect::Complete { op, result } => {
                    let outcome = match result {
                        Ok(Outcome::Session(s)) => format!("session {}", jti(s.access_token())),
                        Ok(Outcome::AccessToken(Some(token))) => format!("token {}", jti(token)),
                        Ok(Outcome::AccessToken(None)) => "null".to_owned(),
                        Ok(Outcome::Done) => "done".to_owned(),
                        Err(error) => format!("err {}", error.code()),
                    };
                    format!("op{} {outcome}", op.0)
                }
            })
            .collect()
    }

    /// A machine in a known state, with the ids the next event needs.
    struct Fixture {
        machine: SessionMachine,
        request: Option<RequestId>,
        lock: Option<LockId>,
    }

    impl Fixture {
        fn new(config: Config) -> Self {
            Self {
                machine: SessionMachine::new(config, Jitter::Fixed(0.5)),
                request: None,
                lock: None,
            }
        }

        fn feed(&mut self, event: Event, secs: f64) -> Vec<Effect> {
            let effects = self.machine.handle(event, at(secs));
            for effect in &effects {
                match effect {
                    Effect::Send { request, .. } => self.request = Some(*request),
                    Effect::AcquireLock { lock } => self.lock = Some(*lock),
                    _ => {}
                }
            }
            effects
        }

        fn reply(&self, result: Result<HttpReply, AuthError>) -> Event {
            Event::Response {
                request: self.request.expect("a request was sent"),
                result,
            }
        }

        fn stored(&self) -> Option<String> {
            self.machine.session().map(Session::to_storage)
        }

        /// A session another tab stored: same login (lineage) as ours, or a new one.
        fn other_tab(&self, access_token: &str, received: f64, same_login: bool) -> String {
            let lineage = match (same_login, self.machine.session()) {
                (true, Some(session)) => session.lineage().to_owned(),
                _ => "another-login".to_owned(),
            };
            let tokens = TokenReply {
                access_token: access_token.to_owned(),
                refresh_token: Some("r-other".to_owned()),
                expires_in: None,
                server_date: None,
            };
            Session::from_tokens(tokens, None, at(received), &lineage)
                .expect("token decodes")
                .to_storage()
        }
    }

    fn signed_out(config: Config) -> Fixture {
        let mut fx = Fixture::new(config);
        fx.feed(Event::Start { stored: Ok(None) }, 0.0);
        fx
    }

    fn logging_in(config: Config) -> Fixture {
        let mut fx = signed_out(config);
        let login = Event::Login {
            op: OpId(1),
            username: "ann".into(),
            password: "pw".into(),
        };
        fx.feed(login, 0.0);
        fx
    }

    fn signed_in_with(config: Config, reply: HttpReply) -> Fixture {
        let mut fx = logging_in(config);
        let event = fx.reply(Ok(reply));
        fx.feed(event, 0.0);
        fx
    }

    /// Logged in at 0 with `a1` (expires at 1800) and refresh token `r1`.
    fn signed_in(config: Config) -> Fixture {
        signed_in_with(config, token_reply(&access("a1", 0.0, 1800.0), Some("r1")))
    }

    /// A 200 reply whose token does not decode is `invalid_token`, and still carries the
    /// status: the contract sets `status` whenever a response was received.
    #[test]
    fn a_malformed_token_in_a_reply_keeps_the_reply_status() {
        let mut fx = logging_in_memory();
        let event = fx.reply(Ok(token_reply("not-a-jwt", Some("r1"))));
        let effects = fx.feed(event, 0.0);
        let error = effects
            .iter()
            .find_map(|effect| match effect {
                Effect::Complete {
                    result: Err(error), ..
                } => Some(error.clone()),
                _ => None,
            })
            .expect("the login call fails");
        assert_eq!(error.code(), ErrorCode::InvalidToken);
        assert_eq!(error.status(), Some(200));
        assert!(fx.machine.session().is_none());

        let mut fx = signed_in_memory();
        fx.feed(Event::Refresh { op: OpId(2) }, 10.0);
        let event = fx.reply(Ok(token_reply("still.not-a.jwt", None)));
        let effects = fx.feed(event, 10.0);
        let error = effects
            .iter()
            .find_map(|effect| match effect {
                Effect::Complete {
                    op: OpId(2),
                    result: Err(error),
                } => Some(error.clone()),
                _ => None,
            })
            .expect("the refresh call fails");
        assert_eq!(
            (error.code(), error.status()),
            (ErrorCode::InvalidToken, Some(200))
        );
    }

    /// Effects come out by rank, and in the order they were produced within a rank (two
    /// completions resolve in call order; a persist precedes the event announcing it).
    #[test]
    fn effects_are_ordered_by_rank_and_stable_within_a_rank() {
        let complete = |op| Effect::Complete {
            op: OpId(op),
            result: Ok(Outcome::Done),
        };
        let persist = |value: &str| Effect::Persist {
            value: value.to_owned(),
        };
        let label = |effects: Vec<Effect>| -> Vec<String> {
            in_rank_order(effects)
                .iter()
                .map(|effect| match effect {
                    Effect::Persist { value } => format!("persist {value}"),
                    Effect::Complete { op, .. } => format!("op{}", op.0),
                    other => describe(std::slice::from_ref(other)).concat(),
                })
                .collect()
        };
        let effects = vec![
            complete(1),
            Effect::Emit {
                event: AuthEvent::SignedOut,
                session: None,
            },
            Effect::ScheduleTick { at: at(5.0) },
            complete(2),
            persist("a"),
            Effect::CancelTick,
            Effect::Clear,
            persist("b"),
            complete(3),
        ];
        assert_eq!(
            label(effects),
            [
                "persist a",
                "clear",
                "persist b",
                "tick 5",
                "cancel tick",
                "emit SIGNED_OUT null",
                "op1",
                "op2",
                "op3"
            ]
        );
        assert_eq!(label(vec![Effect::Clear, complete(7)]), ["clear", "op7"]);
    }

    /// A named way to reach a machine state.
    type Scenario = (&'static str, fn() -> Fixture);

    /// `ready_access_token` is a shortcut for `GetAccessToken`, never a different answer: in
    /// every state below, at every probe time, when it returns a token the machine answers the
    /// call with that token and nothing else (no request, no lock, no timer change, no event).
    #[test]
    fn the_ready_token_is_what_get_access_token_would_answer() {
        let failing = || {
            let mut fx = signed_in_memory();
            fx.feed(Event::Refresh { op: OpId(2) }, 100.0);
            let event = fx.reply(Ok(status(500, "")));
            fx.feed(event, 100.0);
            fx
        };
        let in_flight = || {
            let mut fx = signed_in_memory();
            fx.feed(Event::Refresh { op: OpId(2) }, 100.0);
            fx
        };
        let scenarios: [Scenario; 6] = [
            ("memory", signed_in_memory),
            ("local", signed_in_local),
            ("no refresh token", || {
                signed_in_with(memory(), token_reply(&access("a1", 0.0, 1800.0), None))
            }),
            ("autoRefresh off", || {
                signed_in(config(
                    r#"{"baseUrl": "https://api.test", "storage": "memory", "autoRefresh": false}"#,
                ))
            }),
            ("after a failed refresh", failing),
            ("refresh in flight", in_flight),
        ];
        for (name, build) in scenarios {
            let mut hits = 0;
            for step in 0..=200 {
                let secs = 100.5 + f64::from(step) * 9.0;
                let ready = build()
                    .machine
                    .ready_access_token(at(secs))
                    .map(str::to_owned);
                let mut fx = build();
                let effects = fx.feed(Event::GetAccessToken { op: OpId(99) }, secs);
                let Some(token) = ready else { continue };
                hits += 1;
                assert_eq!(
                    describe(&effects),
                    [format!("op99 token {}", jti(&token))],
                    "{name} at {secs}"
                );
            }
            // While a refresh is out, the token it replaces is never handed out by the shortcut;
            // in every other state the shortcut is used at least once, so the comparison above
            // ran.
            match name {
                "refresh in flight" => assert_eq!(hits, 0, "{name}: the shortcut answered"),
                _ => assert!(hits >= 1, "{name}: the shortcut never answered"),
            }
        }
    }

    fn signed_in_memory() -> Fixture {
        signed_in(memory())
    }

    fn signed_in_local() -> Fixture {
        signed_in(local())
    }

    fn logging_in_memory() -> Fixture {
        logging_in(memory())
    }

    fn signed_out_memory() -> Fixture {
        signed_out(memory())
    }

    fn fresh_memory() -> Fixture {
        Fixture::new(memory())
    }

    fn fresh_v1() -> Fixture {
        Fixture::new(v1())
    }

    fn fresh_local() -> Fixture {
        Fixture::new(local())
    }

    /// The refresh at 1740 brought `a2` (expires at 3541) at 1741.
    fn refreshed_memory() -> Fixture {
        let mut fx = refreshing_memory();
        let event = fx.reply(Ok(token_reply(&access("a2", 1741.0, 1800.0), Some("r2"))));
        fx.feed(event, 1741.0);
        fx
    }

    /// The current session as another tab stores it after its refresh failed at `failed` with
    /// a 503, planning to retry at `retry`.
    fn failed_elsewhere(fx: &Fixture, failed: f64, retry: f64) -> String {
        let session = fx.machine.session().expect("a session");
        session.to_storage_with(
            None,
            Some(&SharedRetry {
                failed_at: vec![at(failed)],
                failures: 1,
                retry_at: at(retry),
                not_before: None,
                code: ErrorCode::Server,
                status: Some(503),
            }),
        )
    }

    /// The value of the first `Persist` among `effects`.
    fn persisted(effects: &[Effect]) -> Option<String> {
        effects.iter().find_map(|effect| match effect {
            Effect::Persist { value } => Some(value.clone()),
            _ => None,
        })
    }

    /// The refresh timer fired at 1740 and the request is out.
    fn refreshing_memory() -> Fixture {
        let mut fx = signed_in_memory();
        fx.feed(Event::Tick, 1740.0);
        fx
    }

    /// Shared storage: the refresh timer fired at 1740 and waits for the lock.
    fn waiting_lock() -> Fixture {
        let mut fx = signed_in_local();
        fx.feed(Event::Tick, 1740.0);
        fx
    }

    /// Shared storage: the lock is held and the request is out.
    fn refreshing_local() -> Fixture {
        let mut fx = waiting_lock();
        let event = Event::LockAcquired {
            lock: fx.lock.expect("lock requested"),
            stored: Ok(fx.stored()),
        };
        fx.feed(event, 1740.0);
        fx
    }

    /// The refresh failed with a network error after the token expired.
    fn expired_memory() -> Fixture {
        let mut fx = refreshing_memory();
        let event = fx.reply(Err(AuthError::network("offline")));
        fx.feed(event, 1801.0);
        fx
    }

    fn signed_in_v1() -> Fixture {
        signed_in_with(v1(), token_reply(&access("a1", 0.0, 1800.0), None))
    }

    type Row = (
        &'static str,
        fn() -> Fixture,
        fn(&Fixture) -> Event,
        f64,
        Phase,
        &'static [&'static str],
    );

    fn op2_get(_: &Fixture) -> Event {
        Event::GetAccessToken { op: OpId(2) }
    }
    fn op2_refresh(_: &Fixture) -> Event {
        Event::Refresh { op: OpId(2) }
    }
    fn op2_logout(_: &Fixture) -> Event {
        Event::Logout { op: OpId(2) }
    }
    fn tick(_: &Fixture) -> Event {
        Event::Tick
    }

    #[test]
    fn state_machine_table() {
        use Phase::*;
        // One row per transition: (name, state, event, at, phase after, effects in order).
        #[rustfmt::skip]
        let rows: &[Row] = &[
            // --- signed out ---
            ("login sends the request", signed_out_memory, |_| Event::Login { op: OpId(2), username: "ann".into(), password: "pw".into() }, 0.0, SignedOut, &["send login"]),
            ("no token when signed out", signed_out_memory, op2_get, 0.0, SignedOut, &["op2 null"]),
            ("refresh needs a session", signed_out_memory, op2_refresh, 0.0, SignedOut, &["op2 err not_authenticated"]),
            ("logout when signed out", signed_out_memory, op2_logout, 0.0, SignedOut, &["clear", "op2 done"]),
            ("nothing to do", signed_out_memory, tick, 0.0, SignedOut, &[]),
            // --- logging in ---
            ("login ok", logging_in_memory, |fx| fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1")))), 0.0, SignedIn, &["persist a1", "tick 1740", "emit SIGNED_IN a1", "op1 session a1"]),
            ("login rejected", logging_in_memory, |fx| fx.reply(Ok(status(401, r#"{"detail": "Incorrect username or password"}"#))), 0.0, SignedOut, &["op1 err invalid_credentials"]),
            ("login offline", logging_in_memory, |fx| fx.reply(Err(AuthError::network("offline"))), 0.0, SignedOut, &["op1 err network"]),
            ("login with a malformed token", logging_in_memory, |fx| fx.reply(Ok(token_reply("not-a-jwt", None))), 0.0, SignedOut, &["op1 err invalid_token"]),
            ("login answered by an html page", logging_in_memory, |fx| fx.reply(Ok(HttpReply { status: 200, content_type: Some("text/html".into()), body: "<html></html>".into(), retry_after: None, date: None })), 0.0, SignedOut, &["op1 err protocol"]),
            // --- signed in (a1 expires at 1800, refresh due at 1740) ---
            ("valid token handed out", signed_in_memory, op2_get, 100.0, SignedIn, &["op2 token a1"]),
            ("expiring token refreshed first", signed_in_memory, op2_get, 1750.0, Refreshing, &["send refresh", "cancel tick"]),
            ("timer refreshes", signed_in_memory, tick, 1740.0, Refreshing, &["send refresh"]),
            ("woken long after expiry", signed_in_memory, tick, 5000.0, Refreshing, &["send refresh"]),
            ("early tick re-arms", signed_in_memory, tick, 100.0, SignedIn, &["tick 1740"]),
            ("logout", signed_in_memory, op2_logout, 100.0, SignedOut, &["clear", "send logout", "cancel tick", "emit SIGNED_OUT null"]),
            ("logout on waking sends no refresh", signed_in_memory, op2_logout, 5000.0, SignedOut, &["clear", "send logout", "cancel tick", "emit SIGNED_OUT null"]),
            ("another tab signed out", signed_in_memory, |_| Event::StorageChanged { stored: None }, 100.0, SignedOut, &["cancel tick", "emit SIGNED_OUT null"]),
            ("another tab refreshed", signed_in_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("a2", 100.0, 1800.0), 100.0, true)) }, 100.0, SignedIn, &["tick 1840", "emit TOKEN_REFRESHED a2"]),
            ("another tab signed in anew", signed_in_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("b1", 100.0, 1800.0), 100.0, false)) }, 100.0, SignedIn, &["tick 1840", "emit SIGNED_IN b1"]),
            ("another tab wrote garbage", signed_in_memory, |_| Event::StorageChanged { stored: Some("{oops".into()) }, 100.0, SignedIn, &[]),
            ("401 refreshes", signed_in_memory, |_| Event::TokenRejected { op: OpId(2), token: access("a1", 0.0, 1800.0) }, 100.0, Refreshing, &["send refresh", "cancel tick"]),
            ("401 on an old token replays", signed_in_memory, |_| Event::TokenRejected { op: OpId(2), token: "old".into() }, 100.0, SignedIn, &["op2 token a1"]),
            ("refresh on demand", signed_in_memory, op2_refresh, 100.0, Refreshing, &["send refresh", "cancel tick"]),
            // --- refreshing (memory storage: no lock) ---
            ("refresh ok", refreshing_memory, |fx| fx.reply(Ok(token_reply(&access("a2", 1741.0, 1800.0), Some("r2")))), 1741.0, SignedIn, &["persist a2", "tick 3481", "emit TOKEN_REFRESHED a2"]),
            ("server down: retry soon", refreshing_memory, |fx| fx.reply(Ok(status(503, ""))), 1741.0, SignedIn, &["tick 1741.75", "emit REFRESH_FAILED a1"]),
            ("refresh token rejected", refreshing_memory, |fx| fx.reply(Ok(status(401, r#"{"detail": "Invalid refresh token"}"#))), 1741.0, SignedOut, &["clear", "emit REFRESH_FAILED null", "emit SIGNED_OUT null"]),
            ("rate limited: Retry-After", refreshing_memory, |fx| fx.reply(Ok(HttpReply { retry_after: Some("120".into()), ..status(429, "") })), 1741.0, SignedIn, &["tick 1861", "emit REFRESH_FAILED a1"]),
            ("rate limited: a Retry-After of a year is capped at 5 minutes", refreshing_memory, |fx| fx.reply(Ok(HttpReply { retry_after: Some("31536000".into()), ..status(429, "") })), 1741.0, SignedIn, &["tick 2041", "emit REFRESH_FAILED a1"]),
            ("callers join the refresh", refreshing_memory, op2_get, 1742.0, Refreshing, &[]),
            ("logout during refresh", refreshing_memory, op2_logout, 1742.0, SignedOut, &["clear", "send logout", "emit SIGNED_OUT null"]),
            ("stale reply ignored", refreshing_memory, |_| Event::Response { request: RequestId(999), result: Ok(status(500, "")) }, 1742.0, Refreshing, &[]),
            ("offline past expiry: kept", refreshing_memory, |fx| fx.reply(Err(AuthError::network("offline"))), 1801.0, Expired, &["tick 1801.75", "emit REFRESH_FAILED a1"]),
            ("broken endpoint: run out", refreshing_memory, |fx| fx.reply(Ok(HttpReply { status: 404, content_type: Some("text/html".into()), body: "<title>404</title>".into(), retry_after: None, date: None })), 1741.0, SignedIn, &["tick 1800", "emit REFRESH_FAILED a1"]),
            // --- expired, refreshable ---
            ("expired: refresh on demand", expired_memory, op2_get, 1801.5, Refreshing, &["send refresh", "cancel tick"]),
            ("expired: retry timer", expired_memory, tick, 1801.75, Refreshing, &["send refresh"]),
            // --- no refresh possible (v1) ---
            ("v1 session ends at exp", signed_in_v1, tick, 1800.0, SignedOut, &["clear", "emit SESSION_EXPIRED null"]),
            ("v1 token until exp", signed_in_v1, op2_get, 1799.0, SignedIn, &["op2 token a1"]),
            ("v1 cannot refresh", signed_in_v1, op2_refresh, 100.0, SignedIn, &["op2 err config"]),
            ("v1 token after exp", signed_in_v1, op2_get, 1800.0, SignedOut, &["clear", "cancel tick", "emit SESSION_EXPIRED null", "op2 null"]),
            // --- shared storage: the cross-tab lock ---
            ("timer asks for the lock", signed_in_local, tick, 1740.0, Refreshing, &["lock"]),
            ("lock: nobody refreshed", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(fx.stored()) }, 1740.1, Refreshing, &["send refresh"]),
            ("lock: another tab refreshed", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(Some(fx.other_tab(&access("a2", 1739.0, 1800.0), 1739.0, true))) }, 1740.1, SignedIn, &["unlock", "tick 3479", "emit TOKEN_REFRESHED a2"]),
            ("lock: another tab signed out", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(None) }, 1740.1, SignedOut, &["unlock", "emit SIGNED_OUT null"]),
            ("lock: garbage stored", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(Some("garbage".into())) }, 1740.1, Refreshing, &["send refresh"]),
            ("lock: storage threw", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Err(AuthError::storage("denied")) }, 1740.1, Refreshing, &["send refresh"]),
            ("lock: refresh ok", refreshing_local, |fx| fx.reply(Ok(token_reply(&access("a2", 1741.0, 1800.0), Some("r2")))), 1741.0, SignedIn, &["persist a2", "unlock", "tick 3481", "emit TOKEN_REFRESHED a2"]),
            ("lock: refresh failed, shared with the tabs", refreshing_local, |fx| fx.reply(Ok(status(503, ""))), 1741.0, SignedIn, &["persist a1", "unlock", "tick 1741.75", "emit REFRESH_FAILED a1"]),
            ("lock: another tab's refresh just failed", waiting_lock, |fx| Event::LockAcquired { lock: fx.lock.expect("lock"), stored: Ok(Some(failed_elsewhere(fx, 1740.05, 1741.0))) }, 1740.1, SignedIn, &["unlock", "tick 1741", "emit REFRESH_FAILED a1"]),
            ("another tab's refresh failed", signed_in_local, |fx| Event::StorageChanged { stored: Some(failed_elsewhere(fx, 1740.05, 1741.0)) }, 1740.1, SignedIn, &["tick 1741", "emit REFRESH_FAILED a1"]),
            ("a late message about a replaced token", refreshed_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("a1", 0.0, 1800.0), 0.0, true)) }, 1742.0, SignedIn, &[]),
            ("an older token of another login is adopted", refreshed_memory, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("b1", 1000.0, 1800.0), 1000.0, false)) }, 1742.0, SignedIn, &["tick 2740", "emit SIGNED_IN b1"]),
            ("unknown lock released", signed_in_local, |_| Event::LockAcquired { lock: LockId(999), stored: Ok(None) }, 100.0, SignedIn, &["unlock"]),
            ("logout while waiting for the lock", waiting_lock, op2_logout, 1741.0, SignedOut, &["clear", "send logout", "emit SIGNED_OUT null"]),
            ("logout holding the lock", refreshing_local, op2_logout, 1741.0, SignedOut, &["clear", "unlock", "send logout", "emit SIGNED_OUT null"]),
            ("other tab's refresh arrives first", waiting_lock, |fx| Event::StorageChanged { stored: Some(fx.other_tab(&access("a2", 1739.0, 1800.0), 1739.0, true)) }, 1740.1, SignedIn, &["tick 3479", "emit TOKEN_REFRESHED a2"]),
            // --- start-up ---
            ("start empty", fresh_memory, |_| Event::Start { stored: Ok(None) }, 0.0, SignedOut, &[]),
            ("start restores", fresh_memory, |_| Event::Start { stored: Ok(Some(stored_a1())) }, 10.0, SignedIn, &["tick 1740"]),
            ("start clears garbage", fresh_memory, |_| Event::Start { stored: Ok(Some("{garbage".into())) }, 10.0, SignedOut, &["clear"]),
            ("start with a due session", fresh_memory, |_| Event::Start { stored: Ok(Some(stored_a1())) }, 1790.0, Refreshing, &["send refresh"]),
            ("start when storage throws", fresh_memory, |_| Event::Start { stored: Err(AuthError::storage("denied")) }, 0.0, SignedOut, &[]),
            ("start joins the tabs' backoff", fresh_local, |_| Event::Start { stored: Ok(Some(stored_a1_failed())) }, 1740.0, SignedIn, &["tick 1741"]),
            ("start with an expired v1 session", fresh_v1, |_| Event::Start { stored: Ok(Some(stored_a1())) }, 2000.0, SignedOut, &["clear", "emit SESSION_EXPIRED null"]),
        ];
        let mut failures = Vec::new();
        for (name, setup, event, secs, phase, expected) in rows {
            let mut fx = setup();
            let event = event(&fx);
            let effects = fx.feed(event, *secs);
            let got = describe(&effects);
            let got_phase = fx.machine.phase(at(*secs));
            if got != *expected || got_phase != *phase {
                failures.push(format!(
                    "{name}: expected {phase:?} {expected:?}\n{:>width$}  got {got_phase:?} {got:?}",
                    "",
                    width = name.len()
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
        assert!(rows.len() >= 50);
    }

    /// `a1` as stored by a tab whose refresh failed at 1739.9 and retries at 1741.
    fn stored_a1_failed() -> String {
        let session = Session::from_storage(&stored_a1()).expect("reads back");
        session.to_storage_with(
            None,
            Some(&SharedRetry {
                failed_at: vec![at(1739.9)],
                failures: 1,
                retry_at: at(1741.0),
                not_before: None,
                code: ErrorCode::Network,
                status: None,
            }),
        )
    }

    /// `a1` as stored at 0 (expires 1800, refresh token `r1`).
    /// `x1` as a client of another API stored it under the same storage key.
    fn stored_by_another_api() -> String {
        let tokens = TokenReply {
            access_token: access("x1", 0.0, 1800.0),
            refresh_token: Some("rx".into()),
            expires_in: None,
            server_date: None,
        };
        Session::from_tokens(tokens, None, at(0.0), "other-login")
            .expect("decodes")
            .to_storage_with(Some("https://other.test/auth/login"), None)
    }

    #[test]
    fn stored_sessions_name_their_api_and_read_back_as_ours() {
        let mut fx = logging_in(local());
        let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))));
        let effects = fx.feed(reply, 0.0);
        let value = effects
            .iter()
            .find_map(|effect| match effect {
                Effect::Persist { value } => Some(value.clone()),
                _ => None,
            })
            .expect("persisted");
        let json: Value = serde_json::from_str(&value).expect("JSON");
        assert_eq!(json["api"], json!("https://api.test/auth/login"));
        let mut again = fresh_local();
        again.feed(
            Event::Start {
                stored: Ok(Some(value)),
            },
            1.0,
        );
        let session = again.machine.session().expect("adopted");
        assert_eq!(jti(session.access_token()), "a1");
    }

    #[test]
    fn a_session_of_another_api_under_the_same_key_is_never_adopted() {
        let foreign = stored_by_another_api();
        let says_why = |fx: &Fixture| {
            let error = fx
                .machine
                .diagnostics(at(0.0))
                .last_error
                .expect("a reason");
            assert_eq!(error.code(), ErrorCode::Storage);
            assert!(error.to_string().contains("another API"), "{error}");
        };
        // At start: not adopted, and not removed either (it is the other client's).
        let mut fx = fresh_local();
        let effects = fx.feed(
            Event::Start {
                stored: Ok(Some(foreign.clone())),
            },
            1.0,
        );
        assert!(
            !describe(&effects).contains(&"clear".to_owned()),
            "{effects:?}"
        );
        assert!(fx.machine.session().is_none());
        says_why(&fx);
        // Signed in: the other client's write is ignored.
        let mut fx = signed_in_local();
        let changed = Event::StorageChanged {
            stored: Some(foreign.clone()),
        };
        assert!(fx.feed(changed, 10.0).is_empty());
        let session = fx.machine.session().expect("still signed in");
        assert_eq!(jti(session.access_token()), "a1");
        says_why(&fx);
        // Read under the lock: our own refresh goes out and overwrites it.
        let mut fx = waiting_lock();
        let granted = Event::LockAcquired {
            lock: fx.lock.expect("lock requested"),
            stored: Ok(Some(foreign)),
        };
        assert_eq!(describe(&fx.feed(granted, 1740.0)), ["send refresh"]);
        says_why(&fx);
    }

    /// What a machine with `config` on a page at `origin` (if known) persists after logging in.
    fn persisted_by(config: Config, origin: Option<&str>) -> String {
        let mut fx = Fixture::new(config);
        if let Some(origin) = origin {
            fx.machine.set_page_origin(origin);
        }
        fx.feed(Event::Start { stored: Ok(None) }, 0.0);
        let login = Event::Login {
            op: OpId(1),
            username: "ann".into(),
            password: "pw".into(),
        };
        fx.feed(login, 0.0);
        let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))));
        fx.feed(reply, 0.0)
            .into_iter()
            .find_map(|effect| match effect {
                Effect::Persist { value } => Some(value),
                _ => None,
            })
            .expect("persisted")
    }

    /// Whether a machine with `config` on a page at `origin` (if known) adopts `stored`.
    fn adopted_by(config: Config, origin: Option<&str>, stored: &str) -> bool {
        let mut fx = Fixture::new(config);
        if let Some(origin) = origin {
            fx.machine.set_page_origin(origin);
        }
        let start = Event::Start {
            stored: Ok(Some(stored.to_owned())),
        };
        fx.feed(start, 1.0);
        fx.machine.session().is_some()
    }

    #[test]
    fn a_relative_base_url_and_the_page_origin_spelled_out_are_one_api() {
        let relative = || config(r#"{"baseUrl": "/api"}"#);
        let absolute = || config(r#"{"baseUrl": "https://app.test/api"}"#);
        let page = Some("https://app.test");
        let mark = |value: &str| {
            let json: Value = serde_json::from_str(value).expect("JSON");
            json["api"].clone()
        };
        // Written absolute when the page's origin is known, whichever form was configured.
        let by_relative = persisted_by(relative(), page);
        assert_eq!(mark(&by_relative), json!("https://app.test/api/auth/login"));
        assert!(adopted_by(absolute(), page, &by_relative));
        let by_absolute = persisted_by(absolute(), page);
        assert!(adopted_by(relative(), page, &by_absolute));
        // A path mark (written where the origin was not known) is a path on this page.
        let by_path = persisted_by(relative(), None);
        assert_eq!(mark(&by_path), json!("/api/auth/login"));
        assert!(adopted_by(absolute(), page, &by_path));
        assert!(adopted_by(relative(), page, &by_path));
        // Another page's origin is another API.
        let elsewhere = Some("https://other.test");
        assert!(!adopted_by(relative(), elsewhere, &by_relative));
        assert!(!adopted_by(absolute(), elsewhere, &by_path));
        assert!(!adopted_by(
            config(r#"{"baseUrl": "/other-api"}"#),
            page,
            &by_relative
        ));
    }

    fn stored_a1() -> String {
        let tokens = TokenReply {
            access_token: access("a1", 0.0, 1800.0),
            refresh_token: Some("r1".into()),
            expires_in: None,
            server_date: None,
        };
        Session::from_tokens(tokens, None, at(0.0), "login-1")
            .expect("decodes")
            .to_storage()
    }

    fn completions(effects: &[Effect]) -> Vec<String> {
        describe(effects)
            .into_iter()
            .filter(|line| line.starts_with("op"))
            .collect()
    }

    #[test]
    fn concurrent_callers_share_one_refresh() {
        let mut fx = signed_in_memory();
        let first = fx.feed(Event::Refresh { op: OpId(2) }, 1750.0);
        assert_eq!(describe(&first), ["send refresh", "cancel tick"]);
        let a1 = access("a1", 0.0, 1800.0);
        for event in [
            Event::Refresh { op: OpId(3) },
            Event::GetAccessToken { op: OpId(4) },
            Event::TokenRejected {
                op: OpId(5),
                token: a1,
            },
            Event::Tick,
        ] {
            let effects = fx.feed(event, 1751.0);
            assert!(
                !describe(&effects)
                    .iter()
                    .any(|line| line.starts_with("send")),
                "a second request went out: {effects:?}"
            );
        }
        let reply = fx.reply(Ok(token_reply(&access("a2", 1752.0, 1800.0), Some("r2"))));
        let done = fx.feed(reply, 1752.0);
        assert_eq!(
            completions(&done),
            [
                "op2 session a2",
                "op3 session a2",
                "op4 token a2",
                "op5 token a2"
            ]
        );
    }

    #[test]
    fn a_transient_failure_never_takes_a_valid_token() {
        let mut fx = signed_in_memory();
        fx.feed(Event::Refresh { op: OpId(2) }, 1750.0);
        fx.feed(Event::GetAccessToken { op: OpId(3) }, 1750.0);
        let a1 = access("a1", 0.0, 1800.0);
        fx.feed(
            Event::TokenRejected {
                op: OpId(4),
                token: a1,
            },
            1750.0,
        );
        let reply = fx.reply(Ok(status(
            502,
            "<html><title>502 Bad Gateway</title></html>",
        )));
        let effects = fx.feed(reply, 1751.0);
        assert_eq!(
            completions(&effects),
            // refresh() reports the failure; getAccessToken() still gets the working token;
            // a 401 replay does not get the token the server just rejected.
            ["op2 err server", "op3 token a1", "op4 err server"]
        );
        assert_eq!(fx.machine.phase(at(1751.0)), Phase::SignedIn);
        assert!(fx.machine.is_authenticated(at(1751.0)));
        // While the retry is pending, getAccessToken() hands out the token without a request.
        let effects = fx.feed(Event::GetAccessToken { op: OpId(5) }, 1751.5);
        assert_eq!(describe(&effects), ["op5 token a1"]);
        // Once expired, a caller gets the error rather than a dead token.
        let mut fx = expired_memory();
        fx.feed(Event::GetAccessToken { op: OpId(6) }, 1801.5);
        let reply = fx.reply(Err(AuthError::network("offline")));
        let effects = fx.feed(reply, 1802.0);
        assert_eq!(completions(&effects), ["op6 err network"]);
        assert!(
            fx.machine.session().is_some(),
            "the refresh token is kept for later"
        );
    }

    #[test]
    fn minimal_servers_keep_their_refresh_token_and_use_the_query() {
        let minimal =
            config(r#"{"baseUrl": "https://api.test", "profile": "minimal", "storage": "memory"}"#);
        let mut fx = signed_in_with(
            minimal.clone(),
            token_reply(&access("a1", 0.0, 900.0), Some("r1")),
        );
        let effects = fx.feed(Event::Tick, 840.0);
        let Some(Effect::Send { http, .. }) = effects.first() else {
            panic!("expected a refresh request, got {effects:?}");
        };
        assert_eq!(http.url, "https://api.test/auth/refresh?refresh_token=r1");
        // The reply has no refresh token: keep the old one.
        let reply = fx.reply(Ok(token_reply(&access("a2", 841.0, 900.0), None)));
        fx.feed(reply, 841.0);
        let session = fx.machine.session().expect("signed in");
        assert_eq!(jti(session.access_token()), "a2");
        assert_eq!(session.refresh_token(), Some("r1"));

        // A minimal login that gives no refresh token at all ends at exp.
        let mut fx = signed_in_with(minimal, token_reply(&access("a1", 0.0, 900.0), None));
        let effects = fx.feed(Event::Tick, 900.0);
        assert_eq!(describe(&effects), ["clear", "emit SESSION_EXPIRED null"]);
    }

    #[test]
    fn logout_settles_after_the_server_answers_even_on_failure() {
        let mut fx = signed_in_memory();
        let effects = fx.feed(Event::Logout { op: OpId(2) }, 100.0);
        assert!(
            completions(&effects).is_empty(),
            "waits for the server: {effects:?}"
        );
        let reply = fx.reply(Ok(status(500, "")));
        let effects = fx.feed(reply, 101.0);
        assert_eq!(describe(&effects), ["op2 done"]);
        let diagnostics = fx.machine.diagnostics(at(101.0));
        assert_eq!(
            diagnostics.last_error.map(|e| e.code()),
            Some(ErrorCode::Server)
        );
        assert_eq!(diagnostics.phase, Phase::SignedOut);
        // A network failure settles it too.
        let mut fx = signed_in_memory();
        fx.feed(Event::Logout { op: OpId(3) }, 100.0);
        let reply = fx.reply(Err(AuthError::network("offline")));
        assert_eq!(describe(&fx.feed(reply, 101.0)), ["op3 done"]);
    }

    #[test]
    fn logout_request_carries_the_token() {
        let mut fx = signed_in_memory();
        let effects = fx.feed(Event::Logout { op: OpId(2) }, 100.0);
        let request = effects.iter().find_map(|effect| match effect {
            Effect::Send { http, .. } => Some(http.clone()),
            _ => None,
        });
        let request = request.expect("logout request");
        let expected = format!("Bearer {}", access("a1", 0.0, 1800.0));
        assert_eq!(request.header("authorization"), Some(expected.as_str()));
        assert_eq!(request.url, "https://api.test/auth/logout");
    }

    #[test]
    fn retry_after_and_the_window_hold_back_on_demand_refreshes() {
        let mut fx = refreshing_memory();
        let reply = fx.reply(Ok(HttpReply {
            retry_after: Some("120".into()),
            ..status(429, "")
        }));
        fx.feed(reply, 1741.0);
        let effects = fx.feed(Event::Refresh { op: OpId(2) }, 1742.0);
        assert_eq!(describe(&effects), ["op2 err rate_limited"]);
        let Some(Effect::Complete {
            result: Err(error), ..
        }) = effects.first()
        else {
            panic!("expected a rejection");
        };
        assert_eq!(error.retry_after(), Some(Duration::from_secs(119)));
        assert_eq!(
            fx.machine.diagnostics(at(1742.0)).retry_not_before,
            Some(at(1861.0))
        );

        // An app calling refresh() in a loop against a dead server: five attempts per minute.
        let mut fx = signed_in_memory();
        let mut sent = 0;
        for i in 0u32..20 {
            let now = 100.0 + f64::from(i);
            let effects = fx.feed(
                Event::Refresh {
                    op: OpId(10 + u64::from(i)),
                },
                now,
            );
            if effects.iter().any(|e| matches!(e, Effect::Send { .. })) {
                sent += 1;
                let reply = fx.reply(Err(AuthError::network("down")));
                fx.feed(reply, now + 0.1);
            } else {
                assert_eq!(completions(&effects), [format!("op{} err network", 10 + i)]);
            }
        }
        assert_eq!(sent, schedule::MAX_FAILURES_PER_WINDOW);
        assert_eq!(fx.machine.diagnostics(at(120.0)).consecutive_failures, 5);
        // The automatic retry waits for the window too: the first failure was at 100.1.
        assert_eq!(
            fx.machine.diagnostics(at(120.0)).next_refresh_at,
            Some(at(160.1))
        );
    }

    /// While a refresh is held back, a token in its last second is not handed out: it would
    /// reach the server expired. The call gets the reason instead, or a refresh when one may go.
    #[test]
    fn a_token_about_to_expire_is_not_handed_out_while_refreshes_are_held_back() {
        // Retry-After: the refresh may not go, so the caller gets the reason.
        let mut fx = refreshing_memory();
        let reply = fx.reply(Ok(HttpReply {
            retry_after: Some("120".into()),
            ..status(429, "")
        }));
        fx.feed(reply, 1741.0);
        let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 1798.9);
        assert_eq!(
            describe(&effects),
            ["op2 token a1"],
            "1.1 s left: still usable"
        );
        let effects = fx.feed(Event::GetAccessToken { op: OpId(3) }, 1799.2);
        assert_eq!(describe(&effects), ["op3 err rate_limited"], "0.8 s left");

        // A planned retry (no Retry-After): the caller's need goes first, as once expired.
        let mut fx = refreshing_memory();
        let reply = fx.reply(Err(AuthError::network("down")));
        fx.feed(reply, 1799.0);
        let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 1799.3);
        assert_eq!(describe(&effects), ["send refresh", "cancel tick"]);
        let reply = fx.reply(Ok(token_reply(&access("a2", 1799.4, 1800.0), Some("r2"))));
        let effects = fx.feed(reply, 1799.4);
        assert!(describe(&effects).contains(&"op2 token a2".to_owned()));
    }

    #[test]
    fn backoff_grows_with_each_failure() {
        let mut fx = refreshing_memory();
        let mut now = 1741.0;
        let mut ticks = Vec::new();
        for _ in 0..4 {
            let reply = fx.reply(Err(AuthError::network("down")));
            let effects = fx.feed(reply, now);
            let next = effects.iter().find_map(|effect| match effect {
                Effect::ScheduleTick { at } => Some(*at),
                _ => None,
            });
            let next = next.expect("a retry is scheduled");
            ticks.push(next.duration_since(at(now)).as_millis());
            now = (next.as_millis() - T0 * 1000) as f64 / 1000.0;
            let effects = fx.feed(Event::Tick, now);
            assert_eq!(describe(&effects), ["send refresh"]);
        }
        // Jitter fixed at 0.5: 3/4 of 1, 2, 4, 8 seconds.
        assert_eq!(ticks, [750, 1500, 3000, 6000]);
        // Success resets the backoff.
        let reply = fx.reply(Ok(token_reply(&access("a2", now, 1800.0), Some("r2"))));
        fx.feed(reply, now);
        assert_eq!(fx.machine.diagnostics(at(now)).consecutive_failures, 0);
    }

    #[test]
    fn a_skewed_server_clock_moves_the_schedule() {
        // The server is five minutes ahead: iat says 300 s when we receive at 0.
        let token = jwt(json!({"jti": "a1", "iat": T0 + 300, "exp": T0 + 300 + 1800}));
        let mut fx = logging_in(memory());
        let reply = fx.reply(Ok(token_reply(&token, Some("r1"))));
        let effects = fx.feed(reply, 0.0);
        // Local expiry 1800 − 0.999 (iat rounded up to the end of its second); refresh 60 s
        // before that: 1739.001, five minutes earlier than the raw exp would say.
        assert!(
            describe(&effects).contains(&"tick 1739.001".to_owned()),
            "{effects:?}"
        );
        let session = fx.machine.session().expect("signed in");
        assert_eq!(session.clock_offset().as_millis(), 300_999);
        assert_eq!(session.expires_at(), Some(at(1799.001)));
        assert_eq!(
            fx.machine.diagnostics(at(0.0)).clock_offset.as_millis(),
            300_999
        );
    }

    #[test]
    fn a_five_second_token_refreshes_halfway() {
        let mut fx = logging_in(memory());
        let reply = fx.reply(Ok(token_reply(&access("a1", 0.0, 5.0), Some("r1"))));
        let effects = fx.feed(reply, 0.0);
        assert!(
            describe(&effects).contains(&"tick 2.5".to_owned()),
            "{effects:?}"
        );
        // expires_in shorter than exp: the stricter one wins.
        let mut fx = logging_in(memory());
        let body = json!({"access_token": access("a1", 0.0, 1800.0), "refresh_token": "r1", "expires_in": 10});
        let reply = fx.reply(Ok(HttpReply::json(200, body.to_string())));
        let effects = fx.feed(reply, 0.0);
        // (The disagreement also reads as a server clock 29:50 ahead; either way the token is
        // treated as living 9.001 s and refreshed halfway.)
        assert!(
            describe(&effects).contains(&"tick 4.501".to_owned()),
            "{effects:?}"
        );
        let session = fx.machine.session().expect("signed in");
        assert_eq!(session.expires_at(), Some(at(9.001)));
    }

    #[test]
    fn without_auto_refresh_tokens_refresh_on_demand_only() {
        let manual =
            config(r#"{"baseUrl": "https://api.test", "storage": "memory", "autoRefresh": false}"#);
        let mut fx = signed_in(manual);
        assert_eq!(fx.machine.diagnostics(at(0.0)).next_refresh_at, None);
        assert!(describe(&fx.feed(Event::Tick, 1790.0)).is_empty());
        assert_eq!(fx.machine.phase(at(1800.0)), Phase::Expired);
        let effects = fx.feed(Event::GetAccessToken { op: OpId(2) }, 2000.0);
        assert_eq!(describe(&effects), ["send refresh"]);
        let reply = fx.reply(Ok(token_reply(&access("a2", 2000.0, 1800.0), None)));
        let effects = fx.feed(reply, 2000.0);
        assert_eq!(
            describe(&effects),
            ["persist a2", "emit TOKEN_REFRESHED a2", "op2 token a2"]
        );
    }

    #[test]
    fn a_logout_during_a_login_wins() {
        let mut fx = logging_in(memory());
        let login_request = fx.request.expect("login was sent");
        let effects = fx.feed(Event::Logout { op: OpId(2) }, 0.5);
        assert_eq!(
            describe(&effects),
            ["clear", "op1 err not_authenticated", "op2 done"]
        );
        // The login's reply, when it comes, installs nothing: the server's new session is
        // logged out there instead.
        let late = Event::Response {
            request: login_request,
            result: Ok(token_reply(&access("a1", 0.0, 1800.0), Some("r1"))),
        };
        assert_eq!(describe(&fx.feed(late, 1.0)), ["send logout"]);
        assert!(fx.machine.session().is_none());
        // That logout answers no caller.
        let reply = fx.reply(Ok(status(200, "{}")));
        assert!(fx.feed(reply, 1.1).is_empty());
        assert!(fx.machine.session().is_none());
    }

    #[test]
    fn of_two_logins_the_later_call_wins_whichever_reply_comes_first() {
        for later_reply_first in [true, false] {
            let mut fx = logging_in(memory());
            let first = fx.request.expect("first login was sent");
            let login = Event::Login {
                op: OpId(2),
                username: "bob".into(),
                password: "pw".into(),
            };
            let effects = fx.feed(login, 0.2);
            assert_eq!(
                describe(&effects),
                ["send login", "op1 err not_authenticated"]
            );
            let second = fx.request.expect("second login was sent");
            let first_reply = Event::Response {
                request: first,
                result: Ok(token_reply(&access("a1", 0.0, 1800.0), Some("ra"))),
            };
            let second_reply = Event::Response {
                request: second,
                result: Ok(token_reply(&access("b1", 0.0, 1800.0), Some("rb"))),
            };
            let (early, late) = if later_reply_first {
                (second_reply, first_reply)
            } else {
                (first_reply, second_reply)
            };
            let mut seen = describe(&fx.feed(early, 0.5));
            seen.extend(describe(&fx.feed(late, 0.6)));
            let expected_signed_in = [
                "persist b1",
                "tick 1740",
                "emit SIGNED_IN b1",
                "op2 session b1",
            ];
            let expected: Vec<&str> = if later_reply_first {
                expected_signed_in
                    .iter()
                    .copied()
                    .chain(["send logout"])
                    .collect()
            } else {
                ["send logout"]
                    .into_iter()
                    .chain(expected_signed_in)
                    .collect()
            };
            assert_eq!(seen, expected, "later reply first: {later_reply_first}");
            let session = fx.machine.session().expect("signed in");
            assert_eq!(jti(session.access_token()), "b1");
        }
    }

    #[test]
    fn a_superseded_login_that_failed_or_a_server_without_logout_sends_nothing() {
        // Refused by the server: nothing to log out.
        let mut fx = logging_in(memory());
        let first = fx.request.expect("login was sent");
        fx.feed(Event::Logout { op: OpId(2) }, 0.1);
        let refused = Event::Response {
            request: first,
            result: Ok(status(
                401,
                r#"{"detail": "Incorrect username or password"}"#,
            )),
        };
        assert!(fx.feed(refused, 0.2).is_empty());
        // v1 has no logout endpoint: the granted session is dropped without a request.
        let mut fx = logging_in(v1());
        let first = fx.request.expect("login was sent");
        fx.feed(Event::Logout { op: OpId(2) }, 0.1);
        let granted = Event::Response {
            request: first,
            result: Ok(token_reply(&access("a1", 0.0, 1800.0), None)),
        };
        assert!(fx.feed(granted, 0.2).is_empty());
        assert!(fx.machine.session().is_none());
    }

    /// A second login replaces the session here and logs the first one out on the server, with
    /// the old access token and no cookies (in cookie mode the browser's refresh cookie is the
    /// new session's by then). Its reply changes nothing.
    #[test]
    fn a_login_while_signed_in_logs_the_old_session_out_there() {
        for (label, mut fx) in [
            ("bearer", signed_in_memory()),
            (
                "cookie",
                signed_in(config(
                    r#"{"baseUrl": "https://api.test", "storage": "memory", "refresh": {"via": "cookie"}}"#,
                )),
            ),
        ] {
            let old_token = fx
                .machine
                .session()
                .expect("signed in")
                .access_token()
                .to_owned();
            let login = Event::Login {
                op: OpId(5),
                username: "bob".into(),
                password: "pw".into(),
            };
            fx.feed(login, 10.0);
            let reply = fx.reply(Ok(token_reply(&access("b1", 10.0, 1800.0), Some("rb"))));
            let effects = fx.feed(reply, 10.0);
            assert_eq!(
                describe(&effects),
                [
                    "persist b1",
                    "send logout",
                    "tick 1750",
                    "emit SIGNED_IN b1",
                    "op5 session b1"
                ],
                "{label}"
            );
            let logout = effects
                .iter()
                .find_map(|effect| match effect {
                    Effect::Send { http, .. } => Some(http.clone()),
                    _ => None,
                })
                .expect("a logout was sent");
            let authorization = logout
                .headers
                .iter()
                .find(|(name, _)| name == "Authorization")
                .map(|(_, value)| value.clone());
            assert_eq!(
                authorization,
                Some(format!("Bearer {old_token}")),
                "{label}"
            );
            assert_eq!(logout.credentials, protocol::Credentials::Omit, "{label}");
            // Its reply, whatever it is, answers no caller and keeps the new session.
            for result in [
                Ok(status(200, "{}")),
                Ok(status(401, "{}")),
                Err(AuthError::network("down")),
            ] {
                let answer = fx.reply(result);
                assert!(describe(&fx.feed(answer, 11.0)).is_empty(), "{label}");
            }
            assert_eq!(
                jti(fx.machine.session().expect("new session").access_token()),
                "b1"
            );
        }
        // A server without a logout endpoint: nothing to send.
        let mut fx = signed_in(config(
            r#"{"baseUrl": "https://api.test", "storage": "memory", "endpoints": {"logout": null}}"#,
        ));
        let login = Event::Login {
            op: OpId(5),
            username: "bob".into(),
            password: "pw".into(),
        };
        fx.feed(login, 10.0);
        let reply = fx.reply(Ok(token_reply(&access("b1", 10.0, 1800.0), Some("rb"))));
        assert!(!describe(&fx.feed(reply, 10.0)).contains(&"send logout".to_owned()));
    }

    /// A `Retry-After` of a year that another tab stored (or an old build, or a hostile script
    /// on the origin) holds refreshes back no longer than one this tab received: not after a
    /// storage event, and not after a reload.
    #[test]
    fn a_retry_after_stored_by_another_tab_is_capped_too() {
        let year = 31_536_000.0;
        let mut fx = signed_in_local();
        let stored = fx.machine.session().expect("signed in").to_storage_with(
            None,
            Some(&SharedRetry {
                failed_at: vec![at(100.0)],
                failures: 1,
                retry_at: at(100.0 + year),
                not_before: Some(at(100.0 + year)),
                code: ErrorCode::RateLimited,
                status: Some(429),
            }),
        );
        let cap = at(100.0 + schedule::MAX_RETRY_AFTER.as_secs_f64());
        let heard = fx.feed(
            Event::StorageChanged {
                stored: Some(stored.clone()),
            },
            100.0,
        );
        assert!(describe(&heard).contains(&"emit REFRESH_FAILED a1".to_owned()));
        let diagnostics = fx.machine.diagnostics(at(100.0));
        assert_eq!(diagnostics.retry_not_before, Some(cap));
        assert!(diagnostics.next_refresh_at.is_some_and(|next| next <= cap));
        // A reload reads the same value.
        let mut reloaded = Fixture::new(local());
        reloaded.feed(
            Event::Start {
                stored: Ok(Some(stored)),
            },
            100.0,
        );
        let diagnostics = reloaded.machine.diagnostics(at(100.0));
        assert_eq!(diagnostics.retry_not_before, Some(cap));
        assert!(diagnostics.next_refresh_at.is_some_and(|next| next <= cap));
    }

    #[test]
    fn a_login_during_a_refresh_wins() {
        let mut fx = refreshing_memory();
        let refresh_request = fx.request;
        fx.feed(Event::GetAccessToken { op: OpId(2) }, 1741.0);
        fx.feed(
            Event::Login {
                op: OpId(3),
                username: "bob".into(),
                password: "pw".into(),
            },
            1741.0,
        );
        let reply = fx.reply(Ok(token_reply(&access("b1", 1742.0, 1800.0), Some("rb"))));
        let effects = fx.feed(reply, 1742.0);
        assert_eq!(
            describe(&effects),
            [
                "persist b1",
                "send logout",
                "tick 3482",
                "emit SIGNED_IN b1",
                "op2 token b1",
                "op3 session b1"
            ]
        );
        // The old refresh's reply is ignored.
        let stale = Event::Response {
            request: refresh_request.expect("refresh was sent"),
            result: Ok(token_reply(&access("a2", 1743.0, 1800.0), Some("r2"))),
        };
        assert!(fx.feed(stale, 1743.0).is_empty());
        assert_eq!(
            jti(fx.machine.session().expect("signed in").access_token()),
            "b1"
        );
    }

    #[test]
    fn born_expired_tokens_do_not_loop() {
        // A server whose clock is far behind issues tokens already expired on our clock: the
        // login itself finds the session due and refreshes at once.
        let mut fx = logging_in(memory());
        let reply = fx.reply(Ok(token_reply(&access("a1", -10.0, 5.0), Some("r1"))));
        let effects = fx.feed(reply, 0.0);
        assert_eq!(
            describe(&effects),
            [
                "persist a1",
                "send refresh",
                "emit SIGNED_IN a1",
                "op1 session a1"
            ]
        );
        // The refresh brings another dead token.
        let reply = fx.reply(Ok(token_reply(&access("a2", -10.0, 5.0), Some("r2"))));
        let effects = fx.feed(reply, 0.0);
        // The next automatic refresh waits a second rather than firing immediately.
        assert_eq!(
            describe(&effects),
            ["persist a2", "tick 1", "emit TOKEN_REFRESHED a2"]
        );
    }

    /// Two tabs against a failing server: whichever takes the lock first sends, the other finds
    /// the failure stored under the lock and waits for the shared retry, so the server sees one
    /// request per backoff step and at most the window's cap, not one per tab.
    #[test]
    fn tabs_back_off_together() {
        let mut a = signed_in_local();
        let mut storage = a.stored().expect("signed in");
        let mut b = fresh_local();
        b.feed(
            Event::Start {
                stored: Ok(Some(storage.clone())),
            },
            0.0,
        );
        let secs = |at: Timestamp| (at.as_millis() - T0 * 1000) as f64 / 1000.0;
        let mut sent = Vec::new();
        let mut now = 1740.0;
        for round in 0..20 {
            let (first, second) = if round % 2 == 0 {
                (&mut a, &mut b)
            } else {
                (&mut b, &mut a)
            };
            assert_eq!(describe(&first.feed(Event::Tick, now)), ["lock"]);
            assert_eq!(describe(&second.feed(Event::Tick, now)), ["lock"]);
            let lock = first.lock.expect("lock");
            let effects = first.feed(
                Event::LockAcquired {
                    lock,
                    stored: Ok(Some(storage.clone())),
                },
                now,
            );
            assert_eq!(describe(&effects), ["send refresh"], "round {round}");
            sent.push(now);
            let reply = first.reply(Ok(status(500, "")));
            let effects = first.feed(reply, now + 0.05);
            storage = persisted(&effects).expect("the failure is stored for the other tab");
            let lock = second.lock.expect("lock");
            let effects = second.feed(
                Event::LockAcquired {
                    lock,
                    stored: Ok(Some(storage.clone())),
                },
                now + 0.1,
            );
            let lines = describe(&effects);
            assert_eq!(lines[0], "unlock", "round {round}: {lines:?}");
            assert!(!lines.iter().any(|l| l.starts_with("send")), "{lines:?}");
            assert!(lines.contains(&"emit REFRESH_FAILED a1".to_owned()));
            // Both plan the same next attempt.
            let next_a = a.machine.diagnostics(at(now + 0.1)).next_refresh_at;
            let next_b = b.machine.diagnostics(at(now + 0.1)).next_refresh_at;
            assert_eq!(next_a, next_b, "round {round}");
            now = secs(next_a.expect("a retry is planned"));
            if now > 1770.0 {
                break;
            }
        }
        // 1740, +0.75, +1.5, +3, +6: five attempts, then the window holds both tabs until the
        // first failure (1740.05) is a minute old.
        assert_eq!(sent, [1740.0, 1740.8, 1742.35, 1745.4, 1751.45]);
        assert_eq!(now, 1800.05);
        for fx in [&a, &b] {
            let diagnostics = fx.machine.diagnostics(at(1760.0));
            assert_eq!(diagnostics.consecutive_failures, 5);
            let error = diagnostics.last_error.expect("an error");
            assert_eq!(
                (error.code(), error.status()),
                (ErrorCode::Server, Some(500))
            );
        }
        // The session was kept throughout; on-demand calls are held back by the shared window.
        let effects = b.feed(Event::Refresh { op: OpId(7) }, 1760.0);
        assert_eq!(describe(&effects), ["op7 err server"]);
    }

    /// A `Retry-After` one tab received holds back every tab, timers and `refresh()` alike.
    #[test]
    fn retry_after_holds_back_every_tab() {
        let mut a = refreshing_local();
        let mut b = fresh_local();
        b.feed(
            Event::Start {
                stored: Ok(a.stored()),
            },
            100.0,
        );
        let reply = a.reply(Ok(HttpReply {
            retry_after: Some("5".into()),
            ..status(429, "")
        }));
        let storage = persisted(&a.feed(reply, 1740.5)).expect("stored");
        let effects = b.feed(
            Event::StorageChanged {
                stored: Some(storage.clone()),
            },
            1740.6,
        );
        assert_eq!(
            describe(&effects),
            ["tick 1745.5", "emit REFRESH_FAILED a1"]
        );
        let effects = b.feed(Event::Refresh { op: OpId(3) }, 1741.0);
        assert_eq!(describe(&effects), ["op3 err rate_limited"]);
        assert_eq!(
            b.machine.diagnostics(at(1741.0)).retry_not_before,
            Some(at(1745.5))
        );
        // Both channels deliver the same change: the second copy is no news.
        let effects = b.feed(
            Event::StorageChanged {
                stored: Some(storage),
            },
            1741.0,
        );
        assert!(effects.is_empty(), "{effects:?}");

        // A long Retry-After outlives the attempt window: a tab opened later still waits.
        let session = Session::from_storage(&stored_a1()).expect("reads back");
        let stored = session.to_storage_with(
            None,
            Some(&SharedRetry {
                failed_at: vec![at(100.0)],
                failures: 1,
                retry_at: at(400.0),
                not_before: Some(at(400.0)),
                code: ErrorCode::RateLimited,
                status: Some(429),
            }),
        );
        let mut c = fresh_local();
        let effects = c.feed(
            Event::Start {
                stored: Ok(Some(stored)),
            },
            200.0,
        );
        assert_eq!(describe(&effects), ["tick 400"]);
        assert_eq!(
            c.machine.diagnostics(at(200.0)).retry_not_before,
            Some(at(400.0))
        );
    }

    /// The same change arriving twice (BroadcastChannel and `storage` event), or a message
    /// about a token already replaced arriving late, changes nothing.
    #[test]
    fn repeated_and_late_messages_change_nothing() {
        let mut b = signed_in_local();
        let a1 = b.stored();
        let a1_failed = failed_elsewhere(&b, 1739.9, 1741.0);
        let a2 = b.other_tab(&access("a2", 1740.0, 1800.0), 1740.0, true);
        let effects = b.feed(
            Event::StorageChanged {
                stored: Some(a2.clone()),
            },
            1740.1,
        );
        assert_eq!(describe(&effects), ["tick 3480", "emit TOKEN_REFRESHED a2"]);
        for stored in [Some(a2), a1, Some(a1_failed)] {
            let effects = b.feed(Event::StorageChanged { stored }, 1740.2);
            assert!(effects.is_empty(), "{effects:?}");
        }
        assert_eq!(b.machine.diagnostics(at(1740.2)).consecutive_failures, 0);
        // A removal is always news.
        let effects = b.feed(Event::StorageChanged { stored: None }, 1740.3);
        assert_eq!(describe(&effects), ["cancel tick", "emit SIGNED_OUT null"]);
    }

    #[test]
    fn tabs_agree_on_expiry() {
        let mut fx = signed_in_v1();
        // Another tab saw the session expire and cleared storage first.
        let effects = fx.feed(Event::StorageChanged { stored: None }, 1799.9);
        assert_eq!(describe(&effects), ["cancel tick", "emit SIGNED_OUT null"]);
        let mut fx = signed_in_v1();
        let effects = fx.feed(Event::StorageChanged { stored: None }, 1800.0);
        // Handled by our own expiry check first.
        assert_eq!(
            describe(&effects),
            ["clear", "cancel tick", "emit SESSION_EXPIRED null"]
        );
        // A refreshable session whose token died while another tab cleared it: expired.
        let mut fx = signed_in_with(memory(), token_reply(&access("a1", 0.0, 1800.0), None));
        let effects = fx.feed(Event::StorageChanged { stored: None }, 1800.5);
        assert_eq!(
            describe(&effects),
            ["clear", "cancel tick", "emit SESSION_EXPIRED null"]
        );
    }

    #[test]
    fn a_failed_storage_write_keeps_this_tab_authoritative() {
        let mut fx = signed_in_local();
        fx.feed(
            Event::StorageFailed {
                error: AuthError::storage("quota exceeded"),
            },
            1.0,
        );
        fx.feed(Event::Tick, 1740.0);
        let event = Event::LockAcquired {
            lock: fx.lock.expect("lock"),
            stored: Ok(None),
        };
        let effects = fx.feed(event, 1740.0);
        // Storage is empty because our write failed, not because anyone signed out.
        assert_eq!(describe(&effects), ["send refresh"]);
    }

    #[test]
    fn far_timers_are_stepped() {
        let mut fx = logging_in(memory());
        let reply = fx.reply(Ok(token_reply(
            &access("a1", 0.0, 100.0 * 86_400.0),
            Some("r1"),
        )));
        let effects = fx.feed(reply, 0.0);
        let tick = effects.iter().find_map(|effect| match effect {
            Effect::ScheduleTick { at } => Some(*at),
            _ => None,
        });
        assert_eq!(tick, Some(at(0.0).saturating_add(MAX_TIMER_DELAY)));
    }

    #[test]
    fn the_refresh_token_expiry_ends_the_session() {
        let refresh = jwt(json!({"type": "refresh", "exp": T0 + 1000}));
        let manual =
            config(r#"{"baseUrl": "https://api.test", "storage": "memory", "autoRefresh": false}"#);
        let mut fx = signed_in_with(
            manual,
            token_reply(&access("a1", 0.0, 1800.0), Some(&refresh)),
        );
        assert_eq!(
            fx.machine.session().and_then(Session::refresh_expires_at),
            Some(at(1000.0))
        );
        // The refresh token dies at 1000; the access token at 1800 ends the session.
        let effects = fx.feed(Event::Tick, 1000.0);
        assert_eq!(describe(&effects), ["tick 1800"]);
        let effects = fx.feed(Event::Refresh { op: OpId(2) }, 1001.0);
        assert_eq!(describe(&effects), ["op2 err refresh_failed"]);
        let effects = fx.feed(Event::Tick, 1800.0);
        assert_eq!(describe(&effects), ["clear", "emit SESSION_EXPIRED null"]);
    }

    #[test]
    fn diagnostics_report_the_plan() {
        let mut fx = signed_in_memory();
        let diagnostics = fx.machine.diagnostics(at(10.0));
        assert_eq!(diagnostics.phase, Phase::SignedIn);
        assert_eq!(diagnostics.expires_at, Some(at(1800.0)));
        assert_eq!(diagnostics.next_refresh_at, Some(at(1740.0)));
        assert_eq!(diagnostics.refresh_count, 0);
        assert_eq!(diagnostics.last_error, None);
        fx.feed(Event::Tick, 1740.0);
        let reply = fx.reply(Ok(token_reply(&access("a2", 1740.0, 1800.0), Some("r2"))));
        fx.feed(reply, 1740.0);
        let diagnostics = fx.machine.diagnostics(at(1741.0));
        assert_eq!(diagnostics.refresh_count, 1);
        assert_eq!(diagnostics.next_refresh_at, Some(at(3480.0)));
    }

    #[test]
    fn persisted_sessions_round_trip_and_reject_garbage() {
        let stored = stored_a1();
        let value: Value = serde_json::from_str(&stored).expect("json");
        assert_eq!(value["v"], json!(1));
        assert_eq!(value["sid"], json!("login-1"));
        assert_eq!(value["refreshToken"], json!("r1"));
        assert_eq!(value["expiresAt"], json!((T0 + 1800) * 1000));
        let session = Session::from_storage(&stored).expect("reads back");
        assert_eq!(session.to_storage(), stored);
        assert_eq!(jti(session.access_token()), "a1");
        assert_eq!(session.claims().get("sub"), Some(&json!("1")));

        let mut v2 = value.clone();
        v2["v"] = json!(2);
        let mut bad_token = value.clone();
        bad_token["accessToken"] = json!("nope");
        let mut wrong_shape = value;
        wrong_shape["receivedAt"] = json!("yesterday");
        for (text, why) in [
            ("".to_owned(), "not json"),
            ("null".to_owned(), "no version"),
            ("[1]".to_owned(), "no version"),
            (r#"{"accessToken": "x"}"#.to_owned(), "no version"),
            (v2.to_string(), "unsupported version 2"),
            (bad_token.to_string(), "malformed"),
            (wrong_shape.to_string(), "wrong shape"),
        ] {
            let error = Session::from_storage(&text).expect_err("garbage");
            assert_eq!(error.code(), ErrorCode::Storage, "{text}");
            assert!(error.message().contains(why), "{text}: {error}");
        }
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let mut fx = signed_in_memory();
        let mut seen = Vec::new();
        seen.push(format!(
            "{:?}",
            Event::Login {
                op: OpId(9),
                username: "ann".into(),
                password: "hunter2".into()
            }
        ));
        seen.push(format!(
            "{:?}",
            fx.feed(Event::Refresh { op: OpId(2) }, 1750.0)
        ));
        let reply = fx.reply(Ok(token_reply(
            &access("a2", 1750.0, 1800.0),
            Some("r2-secret"),
        )));
        seen.push(format!("{:?}", fx.machine));
        seen.push(format!("{reply:?}"));
        seen.push(format!("{:?}", fx.feed(reply, 1750.0)));
        seen.push(format!("{:?}", fx.machine));
        let a2 = access("a2", 1750.0, 1800.0);
        let payload = a2.split('.').nth(1).expect("payload");
        let a1 = access("a1", 0.0, 1800.0);
        let old_payload = a1.split('.').nth(1).expect("payload");
        for text in seen {
            for secret in ["hunter2", "r2-secret", "r1", payload, old_payload] {
                assert!(!text.contains(secret), "{secret} leaked in {text}");
            }
        }
    }

    #[test]
    fn events_have_their_contract_names() {
        let names: Vec<&str> = [
            AuthEvent::InitialSession,
            AuthEvent::SignedIn,
            AuthEvent::TokenRefreshed,
            AuthEvent::SignedOut,
            AuthEvent::SessionExpired,
            AuthEvent::RefreshFailed,
        ]
        .iter()
        .map(|event| event.as_str())
        .collect();
        assert_eq!(
            names,
            [
                "INITIAL_SESSION",
                "SIGNED_IN",
                "TOKEN_REFRESHED",
                "SIGNED_OUT",
                "SESSION_EXPIRED",
                "REFRESH_FAILED"
            ]
        );
    }

    #[test]
    fn seeded_jitter_is_deterministic_and_in_range() {
        let mut a = SessionMachine::new(memory(), Jitter::Seeded(42));
        let mut b = SessionMachine::new(memory(), Jitter::Seeded(42));
        let mut c = SessionMachine::new(memory(), Jitter::Seeded(43));
        let xs: Vec<f64> = (0..100).map(|_| a.next_jitter()).collect();
        let ys: Vec<f64> = (0..100).map(|_| b.next_jitter()).collect();
        let zs: Vec<f64> = (0..100).map(|_| c.next_jitter()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / 100.0;
        assert!((0.3..0.7).contains(&mean), "{mean}");
    }

    proptest::proptest! {
        /// Whatever storage holds, reading it never panics.
        #[test]
        fn storage_garbage_never_panics(text in ".*") {
            let _ = Session::from_storage(&text);
        }

        /// Random event sequences never panic and keep the machine's promises: a refresh token is
        /// never sent twice at once, no token is handed out past its expiry, every call is
        /// settled exactly once (and is settled once the outside world has answered every
        /// request and lock), and the phase agrees with the session and what listeners heard.
        #[test]
        fn random_event_sequences_stay_consistent(
            steps in proptest::collection::vec((0u8..12, 0u32..4_000), 1..60),
            shared in proptest::bool::ANY,
        ) {
            let mut fx = if shared { signed_out(local()) } else { signed_out(memory()) };
            let mut now = 0.0;
            let mut next_op = 100u64;
            let mut serial = 0u32;
            let mut open_ops: Vec<u64> = Vec::new();
            // Refresh requests still unanswered, with the refresh token each one carries.
            let mut refreshes_out: Vec<(RequestId, Option<String>)> = Vec::new();
            let mut pending: Vec<RequestId> = Vec::new();
            let mut heard: Option<bool> = None;
            let feed = |fx: &mut Fixture, event: Event, now: f64, open_ops: &mut Vec<u64>, pending: &mut Vec<RequestId>, refreshes_out: &mut Vec<(RequestId, Option<String>)>, heard: &mut Option<bool>| -> Result<(), proptest::test_runner::TestCaseError> {
                if let Event::Response { request, .. } = &event {
                    refreshes_out.retain(|(id, _)| id != request);
                }
                let effects = fx.feed(event, now);
                for effect in &effects {
                    match effect {
                        Effect::Send { request, http } => {
                            pending.push(*request);
                            if http.endpoint == Endpoint::Refresh {
                                let token = fx.machine.session().and_then(Session::refresh_token).map(str::to_owned);
                                proptest::prop_assert!(
                                    !refreshes_out.iter().any(|(_, other)| *other == token),
                                    "a refresh token was sent while a refresh carrying it was still out"
                                );
                                refreshes_out.push((*request, token));
                            }
                        }
                        Effect::Complete { op, result } => {
                            let index = open_ops.iter().position(|o| *o == op.0);
                            proptest::prop_assert!(index.is_some(), "op{} settled twice or never opened", op.0);
                            if let Some(index) = index {
                                open_ops.remove(index);
                            }
                            if let Ok(Outcome::AccessToken(Some(token))) = result {
                                let exp = decode_unverified(token).ok().and_then(|t| t.claims().exp());
                                proptest::prop_assert!(exp.is_some_and(|exp| exp > at(now)), "op{} got an expired token", op.0);
                            }
                        }
                        Effect::ScheduleTick { at: when } => proptest::prop_assert!(*when >= at(now)),
                        Effect::Emit { session, .. } => *heard = Some(session.is_some()),
                        _ => {}
                    }
                }
                // The phase agrees with the session, its expiry and the refresh in flight, and
                // the last event listeners heard told them whether there is a session.
                let phase = fx.machine.phase(at(now));
                let session = fx.machine.session();
                let expired = session.is_some_and(|s| s.is_expired(at(now), Duration::ZERO));
                let expected = match (session, fx.machine.refresh.is_some()) {
                    (None, _) => Phase::SignedOut,
                    (Some(_), true) => Phase::Refreshing,
                    (Some(_), false) if expired => Phase::Expired,
                    (Some(_), false) => Phase::SignedIn,
                };
                proptest::prop_assert_eq!(phase, expected);
                proptest::prop_assert!(fx.machine.refresh.is_none() || session.is_some(), "a refresh without a session");
                proptest::prop_assert_eq!(fx.machine.is_authenticated(at(now)), session.is_some() && !expired);
                if let Some(has_session) = *heard {
                    proptest::prop_assert_eq!(has_session, session.is_some(), "listeners were told otherwise");
                }
                Ok(())
            };
            for (kind, dt) in steps {
                now += f64::from(dt) / 4.0;
                next_op += 1;
                serial += 1;
                let op = OpId(next_op);
                let event = match kind {
                    0 => Event::Login { op, username: "u".into(), password: "p".into() },
                    1 => Event::Refresh { op },
                    2 | 3 => Event::GetAccessToken { op },
                    4 => Event::Logout { op },
                    5 => Event::TokenRejected { op, token: fx.machine.session().map(|s| s.access_token().to_owned()).unwrap_or_default() },
                    6 | 7 => match pending.pop() {
                        Some(request) => Event::Response { request, result: Ok(token_reply(&access("x", now, 60.0), Some(&format!("r{serial}")))) },
                        None => Event::Tick,
                    },
                    8 => match pending.pop() {
                        Some(request) => Event::Response { request, result: Err(AuthError::network("down")) },
                        None => Event::Tick,
                    },
                    9 => match pending.pop() {
                        Some(request) => Event::Response { request, result: Ok(status(401, "")) },
                        None => Event::Tick,
                    },
                    10 => match fx.lock {
                        Some(lock) => Event::LockAcquired { lock, stored: Ok(fx.stored()) },
                        None => Event::Tick,
                    },
                    _ => Event::Tick,
                };
                if matches!(event, Event::Login { .. } | Event::Refresh { .. } | Event::GetAccessToken { .. } | Event::Logout { .. } | Event::TokenRejected { .. }) {
                    open_ops.push(next_op);
                }
                feed(&mut fx, event, now, &mut open_ops, &mut pending, &mut refreshes_out, &mut heard)?;
            }
            // The outside world answers everything: every request (a network error, so nothing
            // new starts on success) and the lock a refresh waits for. Every call is then settled.
            for _ in 0..64 {
                let waiting_lock = match &fx.machine.refresh {
                    Some(InFlight { stage: Stage::WaitingLock(lock), .. }) => Some(*lock),
                    _ => None,
                };
                let event = match (pending.pop(), waiting_lock) {
                    (Some(request), _) => Event::Response { request, result: Err(AuthError::network("down")) },
                    (None, Some(lock)) => Event::LockAcquired { lock, stored: Ok(fx.stored()) },
                    (None, None) => break,
                };
                feed(&mut fx, event, now, &mut open_ops, &mut pending, &mut refreshes_out, &mut heard)?;
            }
            proptest::prop_assert!(open_ops.is_empty(), "calls never settled: {:?}", open_ops);
        }
    }
}
