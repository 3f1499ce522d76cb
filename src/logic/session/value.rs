//! The [`Session`] value: the tokens, their decoded claims and their timing (expiry on this
//! device's clock, the server clock offset it was estimated with, the refresh token's own expiry),
//! and the login it descends from. How it is written to storage is in `persisted.rs`.

use std::fmt;
use std::time::Duration;

use crate::logic::error::AuthError;
use crate::logic::protocol::TokenReply;
use crate::logic::time::{
    is_expired, ClockEvidence, ClockOffset, ClockSource, Timestamp, TokenTiming,
};
use crate::logic::token::{decode_unverified, Claims};

/// A signed-in session: the tokens, their decoded claims and their timing.
#[derive(Clone, PartialEq)]
pub struct Session {
    pub(super) access_token: String,
    pub(super) refresh_token: Option<String>,
    pub(super) claims: Claims,
    pub(super) expires_at: Option<Timestamp>,
    pub(super) received_at: Timestamp,
    pub(super) clock_offset: ClockOffset,
    pub(super) clock_source: ClockSource,
    pub(super) refresh_expires_at: Option<Timestamp>,
    pub(super) lineage: String,
    /// The access token is DPoP-bound ([`Session::is_dpop_bound`]).
    pub(super) dpop: bool,
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
        let dpop = tokens.dpop || has_key_confirmation(&claims);
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
            dpop,
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
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Whether the access token is bound to the client's DPoP key (RFC 9449): the token reply
    /// said `token_type: "DPoP"`, or the token confirms a key (`cnf.jkt`, which section 6.1
    /// requires of JWT access tokens). Such a token goes out as `Authorization: DPoP` with a
    /// proof, never as a bearer token.
    pub fn is_dpop_bound(&self) -> bool {
        self.dpop
    }
}

/// Whether the access token of `reply` is DPoP-bound, as [`Session::is_dpop_bound`] judges it.
pub(super) fn reply_is_dpop_bound(reply: &TokenReply) -> bool {
    reply.dpop
        || decode_unverified(&reply.access_token)
            .is_ok_and(|token| has_key_confirmation(token.claims()))
}

/// Whether `claims` confirm a DPoP key: a `cnf` object with a `jkt` string (RFC 9449 6.1).
pub(super) fn has_key_confirmation(claims: &Claims) -> bool {
    claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jkt"))
        .is_some_and(|jkt| matches!(jkt, crate::logic::json::Json::String(_)))
}
