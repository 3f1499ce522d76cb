//! What storage holds: the versioned JSON of a [`Session`] ([`PersistedSession`]), marked with the
//! API it belongs to, and the failed refreshes one tab shares with the others ([`SharedRetry`]).
//! Reading is lenient where it can be: a malformed failure record costs the hint, never the
//! session; a value that is not a session at all is [`Unusable`].

use serde::{Deserialize, Serialize};

use crate::logic::json::{self, Json};

use crate::logic::error::{decimal, fill, AuthError, ErrorCode};
use crate::logic::time::{ClockOffset, ClockSource, Timestamp};
use crate::logic::token::decode_unverified;

use super::{Session, PERSISTED_VERSION};

impl Session {
    /// The versioned JSON kept in storage, unmarked: the machine also names the API the session
    /// belongs to when it persists one, and a value without that mark is read as anyone's.
    pub fn to_storage(&self) -> String {
        self.to_storage_with(None, None)
    }

    /// The versioned JSON kept in storage, marked with the API it belongs to and with the
    /// failed refreshes other tabs should know of.
    pub(super) fn to_storage_with(&self, api: Option<&str>, retry: Option<&SharedRetry>) -> String {
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
            dpop: self.dpop,
        };
        // Serializing strings and integers cannot fail; an empty value would read back as a
        // storage error, never as a wrong session.
        crate::platform::write_json(&persisted)
    }

    /// A session from the JSON kept in storage. Anything else (not JSON, another version, a
    /// malformed token) is a `storage` error, never a panic.
    pub fn from_storage(text: &str) -> Result<Self, AuthError> {
        Self::from_storage_with_api(text).map(|(session, _)| session)
    }

    /// [`Session::from_storage`], and the API the value says it belongs to, if it says.
    pub(super) fn from_storage_with_api(text: &str) -> Result<(Self, Option<String>), AuthError> {
        let garbage =
            |why: &str| AuthError::storage(fill("stored session is unusable: {}", &[why]));
        let value: Json = json::from_str(text).ok_or_else(|| garbage("not json"))?;
        match value.get("v").and_then(Json::as_u64) {
            Some(version) if version == u64::from(PERSISTED_VERSION) => {}
            Some(version) => {
                return Err(garbage(&fill(
                    "unsupported version {}",
                    &[&decimal(version)],
                )))
            }
            None => return Err(garbage("no version")),
        }
        let persisted: PersistedSession =
            json::from_str(text).ok_or_else(|| garbage("wrong shape"))?;
        let claims = decode_unverified(&persisted.access_token)
            .map_err(|err| garbage("the access token is malformed").with_source(err))?
            .into_claims();
        let dpop = persisted.dpop || super::value::has_key_confirmation(&claims);
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
            dpop,
        };
        Ok((session, persisted.api))
    }
}

/// Why a stored value is not taken as this machine's session.
pub(super) enum Unusable {
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
    retry: Option<Json>,
    /// The token reply said `token_type: "DPoP"` (a `cnf.jkt` claim says so on its own).
    #[serde(default, skip_serializing_if = "is_false")]
    dpop: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A tab's failed refreshes of the stored session, stored with it so that the other tabs back
/// off together with that tab (see "Many tabs" in the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SharedRetry {
    /// Failed attempts within the attempt window, oldest first.
    pub(super) failed_at: Vec<Timestamp>,
    /// Consecutive failures (the backoff exponent).
    pub(super) failures: u32,
    /// When the next attempt is planned.
    pub(super) retry_at: Timestamp,
    /// The server's `Retry-After`, as an instant.
    pub(super) not_before: Option<Timestamp>,
    /// The last error's code (always a retryable one) and status.
    pub(super) code: ErrorCode,
    pub(super) status: Option<u16>,
}

impl SharedRetry {
    /// At most this many failure times are stored: the window never holds more than a few.
    const MAX_STORED: usize = 16;

    fn to_json(&self) -> Json {
        let skip = self.failed_at.len().saturating_sub(Self::MAX_STORED);
        let millis = |at: Timestamp| Json::Number(at.as_millis() as f64);
        let or_null = |value: Option<Json>| value.unwrap_or(Json::Null);
        let mut object = json::JsonObject::new();
        object.insert(
            "failedAt",
            Json::Array(
                self.failed_at
                    .iter()
                    .skip(skip)
                    .copied()
                    .map(millis)
                    .collect(),
            ),
        );
        object.insert("failures", Json::Number(f64::from(self.failures)));
        object.insert("retryAt", millis(self.retry_at));
        object.insert("notBefore", or_null(self.not_before.map(millis)));
        object.insert("code", Json::from(self.code.as_str()));
        let status = self.status.map(|status| Json::Number(f64::from(status)));
        object.insert("status", or_null(status));
        Json::Object(object)
    }

    /// The failures stored with a session, if any. Lenient: anything malformed is no hint.
    /// The times are as stored: [`RefreshBackoff::merge`] caps them before it believes them.
    ///
    /// [`RefreshBackoff::merge`]: super::backoff::RefreshBackoff::merge
    pub(super) fn from_storage(text: &str) -> Option<Self> {
        let value: Json = json::from_str(text)?;
        let retry = value.get("retry")?;
        let millis = |key: &str| {
            retry
                .get(key)
                .and_then(Json::as_i64)
                .map(Timestamp::from_millis)
        };
        let code = retry.get("code").and_then(Json::as_str)?;
        let code = [
            ErrorCode::Network,
            ErrorCode::Server,
            ErrorCode::RateLimited,
        ]
        .into_iter()
        .find(|known| known.as_str() == code)?;
        let failed_at = retry
            .get("failedAt")
            .and_then(Json::as_array)?
            .iter()
            .take(Self::MAX_STORED)
            .filter_map(Json::as_i64)
            .map(Timestamp::from_millis)
            .collect();
        Some(Self {
            failed_at,
            failures: retry
                .get("failures")
                .and_then(Json::as_u64)
                .and_then(|n| u32::try_from(n).ok())?,
            retry_at: millis("retryAt")?,
            not_before: millis("notBefore"),
            code,
            status: retry
                .get("status")
                .and_then(Json::as_u64)
                .and_then(|n| u16::try_from(n).ok()),
        })
    }

    /// The error callers in this tab see for the other tab's failure.
    pub(super) fn error(&self) -> AuthError {
        let error = AuthError::new(self.code, "the refresh failed in another tab");
        match self.status {
            Some(status) => error.with_status(status),
            None => error,
        }
    }
}
