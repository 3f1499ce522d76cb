//! One refresh, from start to settlement: who waits for it ([`Waiter`]), where it stands
//! ([`InFlight`]: waiting for the cross-tab lock, or sent), what is done under the lock, its reply
//! or failure, and how its callers are settled. Also the rules that say whether a session can be
//! refreshed, when it is due, and when the timer refreshes it (the backoff's part of those rules
//! is `backoff.rs`).

use std::fmt;

use crate::logic::config::Config;
use crate::logic::error::{AuthError, ErrorCode};
use crate::logic::protocol::{self, Endpoint, HttpReply};
use crate::logic::schedule;
use crate::logic::time::Timestamp;

use super::calls::{complete, emit, fail, release};
use super::persisted::Unusable;
use super::{AuthEvent, Effect, LockId, OpId, Outcome, RequestId, Session, SessionMachine};

/// What a caller waiting on a refresh wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wants {
    /// `refresh()`: the new session, or the error.
    Session,
    /// `getAccessToken()`: a usable token; the old one still does after a transient failure.
    AccessToken,
    /// A 401 replay: a token other than the rejected one, or the error.
    FreshToken,
}

/// A call waiting on the refresh in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Waiter {
    pub(super) op: OpId,
    pub(super) wants: Wants,
}

/// Where the refresh in flight stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Waiting for the cross-tab lock.
    WaitingLock(LockId),
    /// The request is out; `lock` is held if shared storage is in use.
    Sending {
        request: RequestId,
        lock: Option<LockId>,
    },
}

/// The refresh in flight (at most one per machine) and the calls waiting on it.
pub(super) struct InFlight {
    pub(super) stage: Stage,
    pub(super) waiters: Vec<Waiter>,
    /// The access token being replaced: if storage holds another one, another tab refreshed.
    pub(super) from_token: String,
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
    /// The cross-tab lock this refresh holds, if it holds one.
    pub(super) fn held_lock(&self) -> Option<LockId> {
        match self.stage {
            Stage::WaitingLock(_) => None,
            Stage::Sending { lock, .. } => lock,
        }
    }
}

/// How waiting callers are settled.
pub(super) enum Settle<'a> {
    /// A session is now in place (refreshed, adopted or logged in).
    With(&'a Session),
    /// The refresh failed; the session (if any) is what remains.
    Failed(&'a AuthError, Option<&'a Session>),
    /// The session is gone (logout, here or elsewhere).
    SignedOut,
}

impl SessionMachine {
    /// [`Self::begin_refresh`] for one caller. One function for the calls that start a refresh:
    /// the wasm module builds the one-waiter list once.
    #[inline(never)]
    pub(super) fn refresh_for(&mut self, waiter: Waiter, out: &mut Vec<Effect>) {
        self.begin_refresh(vec![waiter], out);
    }

    /// Starts a refresh of the current session for `waiters`: under the cross-tab lock with
    /// shared storage, directly otherwise. Its access token is copied here, once, as the token
    /// the refresh replaces; callers only borrow the session, and never clone it.
    pub(super) fn begin_refresh(&mut self, waiters: Vec<Waiter>, out: &mut Vec<Effect>) {
        // Every caller has a session; without one the refresh fails safe in `send_refresh`.
        let from_token = match &self.session {
            Some(session) => session.access_token.clone(),
            None => String::new(),
        };
        if self.config.storage().is_shared() {
            let lock = LockId(self.next_id());
            self.refresh = Some(InFlight {
                stage: Stage::WaitingLock(lock),
                waiters,
                from_token,
            });
            out.push(Effect::AcquireLock { lock });
        } else {
            // The stage is replaced by `send_refresh` at once.
            self.refresh = Some(InFlight {
                stage: Stage::WaitingLock(LockId(0)),
                waiters,
                from_token,
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
                release(out, lock);
            }
            if let Some(in_flight) = self.refresh.take() {
                let error =
                    AuthError::new(ErrorCode::RefreshFailed, "this session cannot be refreshed");
                for waiter in in_flight.waiters {
                    fail(out, waiter.op, error.clone());
                }
            }
            return;
        };
        let request = self.send(http, out);
        if let Some(in_flight) = &mut self.refresh {
            in_flight.stage = Stage::Sending { request, lock };
        }
    }

    pub(super) fn on_lock(
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
            return release(out, lock);
        }
        if !self.storage_trusted {
            return self.send_refresh(Some(lock), out);
        }
        let stored = match stored {
            Ok(stored) => stored,
            Err(error) => {
                self.remember(error);
                return self.send_refresh(Some(lock), out);
            }
        };
        let Some(text) = stored else {
            // Another tab signed out while we waited.
            release(out, lock);
            return self.signed_out_elsewhere(now, out);
        };
        let stored = match self.read_stored(&text) {
            Ok(stored) => stored,
            Err(Unusable::Garbage(error) | Unusable::Foreign(error)) => {
                // Our refresh will overwrite it: in this tab, our session is the one in use.
                self.remember(error);
                return self.send_refresh(Some(lock), out);
            }
        };
        // Compared in place: no copy of the token.
        let ours = match &self.refresh {
            Some(in_flight) => in_flight.from_token == stored.access_token,
            None => stored.access_token.is_empty(),
        };
        if !ours {
            // Another tab refreshed (or signed in) first.
            self.adopt(stored.clone(), out);
            let failed_there = self.absorb_failures(&text, now, out);
            if !self.is_due(&stored, now) {
                release(out, lock);
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
        let Some(session) = &self.session else {
            release(out, lock);
            return self.abandon_refresh(Settle::SignedOut, now, out);
        };
        // Borrowed, not cloned: no copy of the waiters (nor `Vec<Waiter>::clone` in the module).
        let waiters = match &self.refresh {
            Some(in_flight) => in_flight.waiters.as_slice(),
            None => &[],
        };
        let Some(error) = self.hold_back(session, waiters, now) else {
            return self.send_refresh(Some(lock), out);
        };
        release(out, lock);
        if let Some(in_flight) = self.refresh.take() {
            settle(
                out,
                &in_flight.waiters,
                Settle::Failed(&error, Some(session)),
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
        let retry_pending = self.backoff.retry_pending(now);
        (token_only && retry_pending && !session.is_expired(now, self.config.leeway()))
            .then(last_error)
    }

    pub(super) fn on_refresh_reply(
        &mut self,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(in_flight) = self.refresh.take() else {
            return;
        };
        if let Some(lock) = in_flight.held_lock() {
            release(out, lock);
        }
        let Some(current) = &self.session else {
            return settle(
                out,
                &in_flight.waiters,
                Settle::SignedOut,
                now,
                &self.config,
            );
        };
        let previous = current.refresh_token();
        match self.session_from_reply(Endpoint::Refresh, result, previous, &current.lineage, now) {
            Ok(session) => {
                self.backoff.reset();
                self.refresh_count = self.refresh_count.saturating_add(1);
                self.last_refreshed_at = Some(now);
                // Installed first and then borrowed: no copy of the new session.
                self.session = Some(session);
                let Some(session) = &self.session else {
                    return;
                };
                out.push(self.persist(session, None));
                emit(out, AuthEvent::TokenRefreshed, Some(session));
                settle(
                    out,
                    &in_flight.waiters,
                    Settle::With(session),
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
        self.remember(error.clone());
        if error.code() == ErrorCode::RefreshFailed {
            // The server rejected the refresh token: the session is over.
            self.end_session();
            self.backoff.reset();
            out.push(Effect::Clear);
            emit(out, AuthEvent::RefreshFailed, None);
            emit(out, AuthEvent::SignedOut, None);
            return settle(
                out,
                waiters,
                Settle::Failed(&error, None),
                now,
                &self.config,
            );
        }
        // An unusable answer (a 404 page, a malformed token) stops refreshing: the session runs
        // until its token expires and then ends. A retryable one is shared with the other tabs.
        let rng = &mut self.rng;
        if self
            .backoff
            .record_failure(&error, now, || rng.next_jitter())
        {
            self.share_failures(out);
        }
        emit(out, AuthEvent::RefreshFailed, self.session.as_ref());
        settle(
            out,
            waiters,
            Settle::Failed(&error, self.session.as_ref()),
            now,
            &self.config,
        );
    }

    /// Drops the in-flight refresh (its reply or lock will be ignored or released) and settles
    /// its waiters.
    pub(super) fn abandon_refresh(
        &mut self,
        how: Settle<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if let Some(in_flight) = self.refresh.take() {
            if let Some(lock) = in_flight.held_lock() {
                release(out, lock);
            }
            settle(out, &in_flight.waiters, how, now, &self.config);
        }
    }

    /// Whether `session` can be refreshed at `now`.
    pub(super) fn can_refresh(&self, session: &Session, now: Timestamp) -> bool {
        self.backoff.stopped_by().is_none()
            && protocol::can_refresh(&self.config, session.refresh_token())
            && session.refresh_expires_at.is_none_or(|at| now < at)
    }

    /// Why `session` cannot be refreshed, as the error `refresh()` rejects with.
    pub(super) fn cannot_refresh_error(&self, session: &Session, now: Timestamp) -> AuthError {
        if let Some(error) = self.backoff.stopped_by() {
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
    pub(super) fn auto_refresh_at(&self, session: &Session) -> Option<Timestamp> {
        let expires_at = session.expires_at?;
        let due =
            schedule::refresh_due_at(expires_at, session.lifetime(), self.config.refresh_margin());
        let earliest = self
            .last_refreshed_at
            .map(|last| last.saturating_add(schedule::MIN_REFRESH_INTERVAL));
        Some(self.backoff.auto_refresh_at(due, earliest))
    }

    /// Whether `session` is within its refresh margin at `now`.
    pub(super) fn is_due(&self, session: &Session, now: Timestamp) -> bool {
        session.expires_at.is_some_and(|expires_at| {
            now >= schedule::refresh_due_at(
                expires_at,
                session.lifetime(),
                self.config.refresh_margin(),
            )
        })
    }

    /// Why an on-demand refresh may not be sent now, if it may not.
    pub(super) fn blocker(&self, now: Timestamp) -> Option<AuthError> {
        self.backoff.blocker(now, self.last_error.as_ref())
    }
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
            (Settle::With(session), Wants::AccessToken | Wants::FreshToken)
                if session.is_expired(now, config.leeway()) =>
            {
                // A token that expired before it arrived (a reply delayed past its expiry, a
                // server that issues dead tokens) would only earn the caller a 401.
                Err(AuthError::new(
                    ErrorCode::TokenExpired,
                    "the new access token had already expired when it arrived",
                ))
            }
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
