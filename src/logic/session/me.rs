//! `me()`: the one request the machine sends for the app rather than for the session. It is a
//! `getAccessToken()` followed by a GET of the `me` endpoint, and on a 401 a
//! [`TokenRejected`](super::Event::TokenRejected) followed by one replay, so it reuses those
//! calls whole: the call waits under its own [`OpId`] like them, and a *continuation* ([`Then`])
//! says what its settled token turns into. [`SessionMachine::resume_continuations`] runs at the
//! end of every step and replaces such a call's [`Effect::Complete`] with the next request (or
//! the final answer), so a token that arrives by a refresh, another tab or at once goes on the
//! same way.

use crate::logic::error::AuthError;
use crate::logic::protocol::{self, Endpoint, HttpReply};
use crate::logic::time::Timestamp;

use super::calls::{complete, fail};
use super::{Effect, OpId, Outcome, RequestId, SessionMachine};

/// What a call does once its token is settled.
#[derive(Debug)]
pub(super) enum Then {
    /// `me()`: send the request with the token.
    SendMe,
    /// `me()` after a 401: replay with the fresh token, or fail as that 401 says.
    ReplayMe(HttpReply),
}

/// A `me()` request that is out.
pub(super) struct MeCall {
    request: RequestId,
    op: OpId,
    /// The token it carries: what a 401 rejected.
    token: String,
    /// Whether this is the replay (a second 401 is the answer).
    replayed: bool,
}

impl std::fmt::Debug for MeCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeCall")
            .field("request", &self.request)
            .field("op", &self.op)
            .field("token", &"[redacted]")
            .field("replayed", &self.replayed)
            .finish()
    }
}

impl SessionMachine {
    pub(super) fn on_me(&mut self, op: OpId, now: Timestamp, out: &mut Vec<Effect>) {
        if self.session.is_none() {
            return fail(out, op, AuthError::not_authenticated("not signed in"));
        }
        if let Err(error) = protocol::me_endpoint(&self.config) {
            return fail(out, op, error);
        }
        self.continuations.push((op, Then::SendMe));
        self.on_get_access_token(op, now, out);
    }

    /// The reply to a `me()` request, if `request` is one (else `result` is handed back).
    pub(super) fn on_me_reply(
        &mut self,
        request: RequestId,
        result: Result<HttpReply, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> Option<Result<HttpReply, AuthError>> {
        let Some(index) = self
            .me_calls
            .iter()
            .position(|call| call.request == request)
        else {
            return Some(result);
        };
        // Looked up by request id, never by position: `swap_remove` (see `on_response`).
        let call = self.me_calls.swap_remove(index);
        match result {
            Ok(reply) if self.config.errors().refuses_token(reply.status) && !call.replayed => {
                self.continuations.push((call.op, Then::ReplayMe(reply)));
                self.on_token_rejected(call.op, &call.token, now, out);
            }
            Ok(reply) => {
                let body =
                    protocol::parse_json_reply(Endpoint::Me, &reply, self.config.errors(), now);
                complete(out, call.op, body.map(Outcome::Json));
            }
            Err(error) => fail(out, call.op, error),
        }
        None
    }

    /// Replaces each [`Effect::Complete`] of a call with a continuation by what comes next.
    pub(super) fn resume_continuations(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let mut index = 0;
        while index < out.len() && !self.continuations.is_empty() {
            let waiting = match &out[index] {
                Effect::Complete { op, .. } => {
                    self.continuations.iter().position(|(id, _)| id == op)
                }
                _ => None,
            };
            let Some(position) = waiting else {
                index += 1;
                continue;
            };
            // One continuation per call, looked up by its id: `swap_remove` keeps what matters.
            let (op, then) = self.continuations.swap_remove(position);
            if let Effect::Complete { result, .. } = out.remove(index) {
                self.go_on(op, then, result, now, out);
            }
        }
    }

    /// What a `me()` call does with its settled token.
    fn go_on(
        &mut self,
        op: OpId,
        then: Then,
        token: Result<Outcome, AuthError>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let replay = matches!(then, Then::ReplayMe(_));
        match (token, then) {
            (Ok(Outcome::AccessToken(Some(token))), _) => self.send_me(op, token, replay, out),
            // No replay: the original 401 is the answer (`token_expired`, `token_revoked`...).
            (_, Then::ReplayMe(rejected)) => {
                let error = protocol::error_for(Endpoint::Me, &rejected, now);
                fail(out, op, error);
            }
            (Err(error), Then::SendMe) => fail(out, op, error),
            (Ok(_), Then::SendMe) => {
                fail(out, op, AuthError::not_authenticated("not signed in"));
            }
        }
    }

    fn send_me(&mut self, op: OpId, token: String, replayed: bool, out: &mut Vec<Effect>) {
        // A token of a DPoP-bound session goes out as `DPoP` (the tokens `me()` sends are the
        // session's own).
        let bound = self.session.as_ref().is_some_and(|s| s.is_dpop_bound());
        match protocol::me_request(&self.config, &token, bound) {
            Ok(http) => {
                let request = self.send(http, out);
                self.me_calls.push(MeCall {
                    request,
                    op,
                    token,
                    replayed,
                });
            }
            Err(error) => fail(out, op, error),
        }
    }
}
