//! The API calls: `login()`, `refresh()`, `getAccessToken()` (and its shortcut
//! [`SessionMachine::ready_access_token`]), a 401 on a request ([`Event::TokenRejected`](super::Event::TokenRejected)),
//! `logout()`, and the replies to the requests they send. The latest login or logout decides the
//! session; a refresh a call needs is started through `refresh.rs`.

use crate::logic::error::AuthError;
use crate::logic::protocol::{self, Endpoint, HttpReply, HttpRequest};
use crate::logic::time::Timestamp;

use super::refresh::{InFlight, Settle, Stage, Waiter, Wants};
use super::MIN_TOKEN_LIFE_TO_SEND;
use super::{AuthEvent, Effect, LockId, OpId, Outcome, RequestId, Session, SessionMachine};

impl SessionMachine {
    /// The access token when [`Event::GetAccessToken`](super::Event::GetAccessToken) at `now` would answer with it at once and
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

    pub(super) fn on_login(
        &mut self,
        op: OpId,
        username: &str,
        password: &str,
        out: &mut Vec<Effect>,
    ) {
        self.supersede_logins(out);
        let http = protocol::login_request(&self.config, username, password);
        let request = self.send(http, out);
        self.logins.push((request, op));
    }

    pub(super) fn on_refresh(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        let waiter = Waiter {
            op,
            wants: Wants::Session,
        };
        let Some(session) = &self.session else {
            return fail(out, op, AuthError::not_authenticated("not signed in"));
        };
        if let Some(in_flight) = &mut self.refresh {
            return in_flight.waiters.push(waiter);
        }
        if !self.can_refresh(session, now) {
            return fail(out, op, self.cannot_refresh_error(session, now));
        }
        if let Some(error) = self.blocker(now) {
            return fail(out, op, error);
        }
        self.refresh_for(waiter, out);
    }

    pub(super) fn on_get_access_token(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(session) = &self.session else {
            return complete(out, op, Ok(Outcome::AccessToken(None)));
        };
        if let Some(in_flight) = &mut self.refresh {
            return in_flight.waiters.push(Waiter {
                op,
                wants: Wants::AccessToken,
            });
        }
        // Whether the current token is the answer; it is copied only then, in one place.
        // (`advance` already ended an expired session that cannot refresh.)
        let current = if !self.can_refresh(session, now) || !self.is_due(session, now) {
            true
        } else if !session.is_expired(
            now.saturating_add(MIN_TOKEN_LIFE_TO_SEND),
            self.config.leeway(),
        ) {
            // The token still works: while retries are planned or paused, hand it out rather
            // than add requests against a failing server.
            self.backoff.retry_pending(now) || self.blocker(now).is_some()
        } else if let Some(error) = self.blocker(now) {
            return fail(out, op, error);
        } else {
            false
        };
        if current {
            let token = session.access_token.clone();
            return complete(out, op, Ok(Outcome::AccessToken(Some(token))));
        }
        let waiter = Waiter {
            op,
            wants: Wants::AccessToken,
        };
        self.refresh_for(waiter, out);
    }

    pub(super) fn on_token_rejected(
        &mut self,
        op: OpId,
        token: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(session) = &self.session else {
            return complete(out, op, Ok(Outcome::AccessToken(None)));
        };
        let current_works =
            self.refresh.is_none() && !session.is_expired(now, self.config.leeway());
        if session.access_token != token && current_works {
            // Refreshed since that request left: replay with the current token.
            return complete(
                out,
                op,
                Ok(Outcome::AccessToken(Some(session.access_token.clone()))),
            );
        }
        // The rejected token is the current one, or the current one is being replaced or has
        // expired too: the replay waits for a fresh token.
        if let Some(in_flight) = &mut self.refresh {
            return in_flight.waiters.push(Waiter {
                op,
                wants: Wants::FreshToken,
            });
        }
        if !self.can_refresh(session, now) {
            let error = AuthError::not_authenticated(
                "the server rejected the access token and the session cannot be refreshed",
            )
            .with_status(401);
            return fail(out, op, error);
        }
        if let Some(error) = self.blocker(now) {
            return fail(out, op, error);
        }
        let waiter = Waiter {
            op,
            wants: Wants::FreshToken,
        };
        self.refresh_for(waiter, out);
    }

    /// The latest `login()` or `logout()` decides the session: the logins still waiting for
    /// their reply are settled now with `not_authenticated`, and their replies will install
    /// nothing. Without this, a logout during a login was undone when the login's reply came,
    /// and of two logins the slower reply won, not the later call.
    // Inlined at its two callers (both in `step`): measured smaller in the gzipped module than
    // one shared copy (-33 B).
    #[inline(always)]
    fn supersede_logins(&mut self, out: &mut Vec<Effect>) {
        for (request, op) in std::mem::take(&mut self.logins) {
            self.superseded_logins.push(request);
            let error =
                AuthError::not_authenticated("a later login() or logout() replaced this login");
            fail(out, op, error);
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
        let (fields, errors) = (self.config.response_fields(), self.config.errors());
        let Ok(tokens) = result.and_then(|reply| {
            protocol::parse_token_reply(Endpoint::Login, &reply, fields, errors, now)
        }) else {
            return;
        };
        let dpop = super::value::reply_is_dpop_bound(&tokens);
        let refresh_token = tokens.refresh_token.as_deref();
        self.send_replaced_logouts(&tokens.access_token, refresh_token, dpop, out);
    }

    /// A login made while signed in replaces the session here, and must not leave the old one
    /// open on the server, where its refresh token would stay valid unseen: it is logged out
    /// there, best effort like `logout()` (when the server has a logout endpoint). The reply
    /// answers no caller and is ignored.
    fn log_out_replaced(&mut self, replaced: Option<Session>, by: &Session, out: &mut Vec<Effect>) {
        let Some(old) = replaced.filter(|old| old.access_token != by.access_token) else {
            return;
        };
        let (access_token, refresh_token) = (&old.access_token, old.refresh_token.as_deref());
        self.send_replaced_logouts(access_token, refresh_token, old.dpop, out);
    }

    /// Sends the logout calls for tokens this client no longer holds; their replies answer no
    /// caller and are ignored.
    // Inlined at its two callers in `step`: measured smaller gzipped than one copy (-21 B).
    #[inline(always)]
    fn send_replaced_logouts(
        &mut self,
        access_token: &str,
        refresh_token: Option<&str>,
        dpop: bool,
        out: &mut Vec<Effect>,
    ) {
        let calls =
            protocol::logout_replaced_requests(&self.config, access_token, refresh_token, dpop);
        for http in calls {
            self.send(http, out);
        }
    }

    pub(super) fn on_logout(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        self.supersede_logins(out);
        let session = self.end_session();
        self.backoff.reset();
        self.abandon_refresh(Settle::SignedOut, now, out);
        // Cleared even when nothing was held: storage may hold what we could not parse.
        out.push(Effect::Clear);
        let Some(session) = session else {
            return complete(out, op, Ok(Outcome::Done));
        };
        emit(out, AuthEvent::SignedOut, None);
        let refresh_token = session.refresh_token.as_deref();
        let calls = protocol::logout_requests(
            &self.config,
            &session.access_token,
            refresh_token,
            session.dpop,
        );
        if calls.is_empty() {
            return complete(out, op, Ok(Outcome::Done));
        }
        // `logout()` settles when the last of its calls is answered.
        for http in calls {
            let request = self.send(http, out);
            self.logouts.push((request, op));
        }
    }

    pub(super) fn on_response(
        &mut self,
        request: RequestId,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        // These lists are looked up by id, never by position: `swap_remove`, which spares the
        // wasm module a `Vec::remove` for each of their element types.
        if let Some(index) = self.logins.iter().position(|(id, _)| *id == request) {
            let (_, op) = self.logins.swap_remove(index);
            return self.on_login_reply(op, result, now, out);
        }
        if let Some(index) = self.superseded_logins.iter().position(|id| *id == request) {
            self.superseded_logins.swap_remove(index);
            return self.on_superseded_login_reply(result, now, out);
        }
        if let Some(index) = self.logouts.iter().position(|(id, _)| *id == request) {
            let (_, op) = self.logouts.swap_remove(index);
            // Local state is already gone; a failed server logout is only worth a diagnostic.
            let errors = self.config.errors();
            if let Err(error) =
                result.and_then(|reply| protocol::parse_logout_reply(&reply, errors, now))
            {
                self.remember(error);
            }
            if self.logouts.iter().any(|(_, waiting)| *waiting == op) {
                return;
            }
            return complete(out, op, Ok(Outcome::Done));
        }
        let Some(result) = self.on_me_reply(request, result, now, out) else {
            return;
        };
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
        match self.session_from_reply(Endpoint::Login, result, None, &lineage, now) {
            Ok(session) => {
                let replaced = self.session.replace(session.clone());
                self.log_out_replaced(replaced, &session, out);
                self.backoff.reset();
                self.abandon_refresh(Settle::With(&session), now, out);
                out.push(self.persist(&session, None));
                emit(out, AuthEvent::SignedIn, Some(&session));
                complete(out, op, Ok(Outcome::Session(session)));
            }
            Err(error) => {
                self.remember(error.clone());
                fail(out, op, error);
            }
        }
    }
}

impl SessionMachine {
    /// Pushes [`Effect::Send`] of `http` under a fresh request id, and returns the id. One
    /// function rather than the effect built at every request: the wasm module holds the move
    /// of the request into the effect once.
    #[inline(never)]
    pub(super) fn send(&mut self, http: HttpRequest, out: &mut Vec<Effect>) -> RequestId {
        let request = self.next_request();
        out.push(Effect::Send { request, http });
        request
    }

    /// The session a login or refresh reply grants (`previous_refresh_token` is kept when the
    /// reply has none), or why it grants none. One function for both replies: inlined into each
    /// handler, the parsing and its error paths were in the wasm module twice.
    #[inline(never)]
    pub(super) fn session_from_reply(
        &self,
        endpoint: Endpoint,
        result: Result<HttpReply, AuthError>,
        previous_refresh_token: Option<&str>,
        lineage: &str,
        now: Timestamp,
    ) -> Result<Session, AuthError> {
        let (fields, errors) = (self.config.response_fields(), self.config.errors());
        let reply = result?;
        let tokens = protocol::parse_token_reply(endpoint, &reply, fields, errors, now)?;
        // A reply was received: a token that does not decode still reports its status.
        Session::from_tokens(tokens, previous_refresh_token, now, lineage)
            .map_err(|error| error.with_status(reply.status))
    }
}

/// Pushes [`Effect::Emit`] of `event` with a copy of `session`. One function rather than the
/// effect built in every handler: the wasm module holds its code once.
#[inline(never)]
pub(super) fn emit(out: &mut Vec<Effect>, event: AuthEvent, session: Option<&Session>) {
    out.push(Effect::Emit {
        event,
        session: session.cloned(),
    });
}

pub(super) fn complete(out: &mut Vec<Effect>, op: OpId, result: Result<Outcome, AuthError>) {
    out.push(Effect::Complete { op, result });
}

/// Pushes [`Effect::ReleaseLock`] of `lock`. Out of line, like [`emit`]: the many places a
/// refresh lets go of the lock each make a call, not an effect.
#[inline(never)]
pub(super) fn release(out: &mut Vec<Effect>, lock: LockId) {
    out.push(Effect::ReleaseLock { lock });
}

/// Rejects call `op` with `error`. Out of line: the error is wrapped into the effect once in the
/// wasm module, not at each of the many places a call is refused.
#[inline(never)]
pub(super) fn fail(out: &mut Vec<Effect>, op: OpId, error: AuthError) {
    complete(out, op, Err(error));
}
