//! What storage holds: the versioned JSON of a [`Session`] ([`PersistedSession`]), marked with the
//! API it belongs to, and the failed refreshes one tab shares with the others ([`SharedRetry`]).
//! Reading is lenient where it can be: a malformed failure record costs the hint, never the
//! session; a value that is not a session at all is [`Unusable`].

use crate::logic::json::{self, Json};

use crate::logic::error::{decimal, fill, AuthError, ErrorCode};
use crate::logic::time::{ClockOffset, ClockSource, Timestamp};
use crate::logic::token::{decode_unverified, DecodeError};

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
        // Borrowed, not copied: the stored form is only a view of the session on its way out.
        // The retry record is built here and handed over whole (see `to_json_with`).
        let persisted = PersistedSession {
            v: PERSISTED_VERSION,
            sid: &self.lineage,
            access_token: &self.access_token,
            refresh_token: self.refresh_token.as_deref(),
            expires_at: self.expires_at.map(Timestamp::as_millis),
            received_at: self.received_at.as_millis(),
            clock_offset_ms: self.clock_offset.as_millis(),
            clock_source: Some(self.clock_source.as_str()),
            refresh_expires_at: self.refresh_expires_at.map(Timestamp::as_millis),
            api,
            retry: None,
            dpop: self.dpop,
        };
        // Serializing strings and integers cannot fail; an empty value would read back as a
        // storage error, never as a wrong session.
        persisted
            .to_json_with(retry.map(SharedRetry::to_json))
            .to_json_text()
    }

    /// A session from the JSON kept in storage. Anything else (not JSON, another version, a
    /// malformed token) is a `storage` error, never a panic.
    pub fn from_storage(text: &str) -> Result<Self, AuthError> {
        Self::from_storage_with_api(text).map(|(session, _)| session)
    }

    /// [`Session::from_storage`], and the API the value says it belongs to, if it says.
    pub(super) fn from_storage_with_api(text: &str) -> Result<(Self, Option<String>), AuthError> {
        let value: Option<Json> = json::from_str(text);
        // Each way of failing is a small value, made into the one error here: the message is
        // built in one place rather than at every `return`.
        Self::from_stored_value(value.as_ref()).map_err(|why| {
            let (why, version, source) = match why {
                Unreadable::Because(why) => (why, None, None),
                Unreadable::Version(version) => ("unsupported version ", Some(version), None),
                Unreadable::Token(error) => ("the access token is malformed", None, Some(error)),
            };
            let version = version.map(decimal).unwrap_or_default();
            let error =
                AuthError::storage(fill("stored session is unusable: {}{}", &[why, &version]));
            match source {
                Some(source) => error.with_source(source),
                None => error,
            }
        })
    }

    /// [`Session::from_storage_with_api`] of the parsed value (`None`: the text was not JSON).
    fn from_stored_value(value: Option<&Json>) -> Result<(Self, Option<String>), Unreadable> {
        let value = value.ok_or(Unreadable::Because("not json"))?;
        match value.get("v").and_then(Json::as_u64) {
            Some(version) if version == u64::from(PERSISTED_VERSION) => {}
            Some(version) => return Err(Unreadable::Version(version)),
            None => return Err(Unreadable::Because("no version")),
        }
        let persisted =
            PersistedSession::from_json(value).ok_or(Unreadable::Because("wrong shape"))?;
        let claims = decode_unverified(persisted.access_token)
            .map_err(Unreadable::Token)?
            .into_claims();
        let dpop = persisted.dpop || super::value::has_key_confirmation(&claims);
        let session = Self {
            access_token: persisted.access_token.to_owned(),
            refresh_token: persisted
                .refresh_token
                .filter(|token| !token.is_empty())
                .map(str::to_owned),
            claims,
            expires_at: persisted.expires_at.map(Timestamp::from_millis),
            received_at: Timestamp::from_millis(persisted.received_at),
            clock_offset: ClockOffset::from_millis(persisted.clock_offset_ms),
            clock_source: persisted
                .clock_source
                .map_or(ClockSource::None, ClockSource::from_name),
            refresh_expires_at: persisted.refresh_expires_at.map(Timestamp::from_millis),
            lineage: persisted.sid.to_owned(),
            dpop,
        };
        Ok((session, persisted.api.map(str::to_owned)))
    }
}

/// Why a stored value could not be read as a session: what the `storage` error says after
/// "stored session is unusable: ".
enum Unreadable {
    /// A fixed reason: `not json`, `no version`, `wrong shape`.
    Because(&'static str),
    /// Another version of the stored form.
    Version(u64),
    /// The access token does not decode (the error is kept as the source).
    Token(DecodeError),
}

/// Why a stored value is not taken as this machine's session.
pub(super) enum Unusable {
    /// Not a session at all (not JSON, another version, a malformed token).
    Garbage(AuthError),
    /// A session of another API that shares the storage key.
    Foreign(AuthError),
}

/// What storage holds (version 1): JSON with camelCase fields and times in epoch milliseconds.
/// The stored form of a session (version [`PERSISTED_VERSION`]): a JSON object with these
/// members, in this order, in camelCase.
///
/// Written and read through [`Json`] by hand rather than by serde derives: a derived struct
/// would make serde-wasm-bindgen build its typed struct (de)serializer, its field-name cache and
/// a hash map into the npm package, for this one shape (2.4 KB gzip, bench/SIZE-ANALYSIS.md
/// section 12). The rules are serde's: unknown members are ignored, an optional member may be
/// missing or `null`, a member of the wrong type makes the whole value unusable.
#[derive(Debug, Clone, PartialEq)]
struct PersistedSession<'a> {
    v: u32,
    sid: &'a str,
    access_token: &'a str,
    refresh_token: Option<&'a str>,
    expires_at: Option<i64>,
    received_at: i64,
    clock_offset_ms: i64,
    /// Where the offset came from ([`ClockSource::as_str`]); absent in values written before
    /// it existed, and then left out.
    clock_source: Option<&'a str>,
    refresh_expires_at: Option<i64>,
    /// The API the session belongs to (its login endpoint), so that a client of another API
    /// sharing the storage key never adopts it: it would send these tokens to its own servers.
    /// Absent in values written before it existed, which are taken as ours; left out when absent.
    api: Option<&'a str>,
    /// Failed refreshes of this session, for other tabs ([`SharedRetry`]). Kept as raw JSON so
    /// a malformed value costs the hint, never the session; left out when absent.
    retry: Option<&'a Json>,
    /// The token reply said `token_type: "DPoP"` (a `cnf.jkt` claim says so on its own); left
    /// out when false.
    dpop: bool,
}

impl<'a> PersistedSession<'a> {
    /// The stored form as JSON, its `retry` member included.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    fn to_json(&self) -> Json {
        self.to_json_with(self.retry.cloned())
    }

    /// The stored form as JSON, with `retry` as its `retry` member (`self.retry` is what was
    /// read, and is not looked at): the writer hands the record over, so the wasm module has no
    /// deep copy of a JSON value for it.
    fn to_json_with(&self, retry: Option<Json>) -> Json {
        let millis = |value: i64| Json::Number(value as f64);
        let or_null = |value: Option<Json>| value.unwrap_or(Json::Null);
        let mut object = json::JsonObject::new();
        object.insert("v", Json::Number(f64::from(self.v)));
        object.insert("sid", Json::from(self.sid));
        object.insert("accessToken", Json::from(self.access_token));
        object.insert("refreshToken", or_null(self.refresh_token.map(Json::from)));
        object.insert("expiresAt", or_null(self.expires_at.map(millis)));
        object.insert("receivedAt", millis(self.received_at));
        object.insert("clockOffsetMs", millis(self.clock_offset_ms));
        if let Some(source) = self.clock_source {
            object.insert("clockSource", Json::from(source));
        }
        object.insert(
            "refreshExpiresAt",
            or_null(self.refresh_expires_at.map(millis)),
        );
        if let Some(api) = self.api {
            object.insert("api", Json::from(api));
        }
        if let Some(retry) = retry {
            object.insert("retry", retry);
        }
        if self.dpop {
            object.insert("dpop", Json::Bool(true));
        }
        Json::Object(object)
    }

    /// The stored form in `value`, borrowing its strings; `None` when a member is missing or of
    /// the wrong type.
    fn from_json(value: &'a Json) -> Option<Self> {
        let object = value.as_object()?;
        // A member that may be missing or null: `None` then.
        fn optional<'a>(object: &'a json::JsonObject, key: &str) -> Option<&'a Json> {
            match object.get(key) {
                None | Some(Json::Null) => None,
                Some(value) => Some(value),
            }
        }
        // An optional string or integer: `Some(None)` when missing or null, `None` when of the
        // wrong type. Plain functions kept out of line rather than one generic or closures
        // inlined at every member: one copy of each in the wasm module.
        #[inline(never)]
        fn text<'a>(object: &'a json::JsonObject, key: &str) -> Option<Option<&'a str>> {
            match optional(object, key) {
                None => Some(None),
                Some(value) => value.as_str().map(Some),
            }
        }
        #[inline(never)]
        fn integer(object: &json::JsonObject, key: &str) -> Option<Option<i64>> {
            match optional(object, key) {
                None => Some(None),
                Some(value) => value.as_i64().map(Some),
            }
        }
        Some(Self {
            v: u32::try_from(object.get("v")?.as_u64()?).ok()?,
            sid: object.get("sid")?.as_str()?,
            access_token: object.get("accessToken")?.as_str()?,
            refresh_token: text(object, "refreshToken")?,
            expires_at: integer(object, "expiresAt")?,
            received_at: object.get("receivedAt")?.as_i64()?,
            clock_offset_ms: object.get("clockOffsetMs")?.as_i64()?,
            clock_source: text(object, "clockSource")?,
            refresh_expires_at: integer(object, "refreshExpiresAt")?,
            api: text(object, "api")?,
            retry: optional(object, "retry"),
            dpop: match object.get("dpop") {
                None => false,
                Some(Json::Bool(dpop)) => *dpop,
                Some(_) => return None,
            },
        })
    }
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
        // Loops, not iterator chains, here and in `from_storage`: less code in the wasm module.
        let mut failed_at = Vec::new();
        for at in self.failed_at.get(skip..).unwrap_or_default() {
            failed_at.push(millis(*at));
        }
        object.insert("failedAt", Json::Array(failed_at));
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
        // A match, not a search of a list of codes: no iterator adapter in the wasm module.
        let code = match retry.get("code").and_then(Json::as_str)? {
            "network" => ErrorCode::Network,
            "server" => ErrorCode::Server,
            "rate_limited" => ErrorCode::RateLimited,
            _ => return None,
        };
        let stored = retry.get("failedAt").and_then(Json::as_array)?;
        let mut failed_at = Vec::new();
        for at in stored.get(..Self::MAX_STORED).unwrap_or(stored) {
            if let Some(millis) = at.as_i64() {
                failed_at.push(Timestamp::from_millis(millis));
            }
        }
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    /// The stored form as the serde derive declared it before it was written by hand: what
    /// sessions already in storage look like, and what older versions of the package read.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Derived {
        v: u32,
        sid: String,
        access_token: String,
        refresh_token: Option<String>,
        expires_at: Option<i64>,
        received_at: i64,
        clock_offset_ms: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clock_source: Option<String>,
        refresh_expires_at: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry: Option<Json>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dpop: bool,
    }

    impl From<&PersistedSession<'_>> for Derived {
        fn from(p: &PersistedSession<'_>) -> Self {
            Self {
                v: p.v,
                sid: p.sid.to_owned(),
                access_token: p.access_token.to_owned(),
                refresh_token: p.refresh_token.map(str::to_owned),
                expires_at: p.expires_at,
                received_at: p.received_at,
                clock_offset_ms: p.clock_offset_ms,
                clock_source: p.clock_source.map(str::to_owned),
                refresh_expires_at: p.refresh_expires_at,
                api: p.api.map(str::to_owned),
                retry: p.retry.cloned(),
                dpop: p.dpop,
            }
        }
    }

    fn full() -> PersistedSession<'static> {
        let mut retry = json::JsonObject::new();
        retry.insert("failures", Json::Number(2.0));
        // The stored form borrows its retry record: a test's one, kept for the whole run.
        let retry: &'static Json = Box::leak(Box::new(Json::Object(retry)));
        PersistedSession {
            v: PERSISTED_VERSION,
            sid: "0123456789abcdef1",
            access_token: "a.b.c",
            refresh_token: Some("r1"),
            expires_at: Some(1_700_000_900_000),
            received_at: 1_700_000_000_000,
            clock_offset_ms: -600_000,
            clock_source: Some("date"),
            refresh_expires_at: Some(1_700_604_800_000),
            api: Some("https://api.test/auth/login"),
            retry: Some(retry),
            dpop: true,
        }
    }

    fn bare() -> PersistedSession<'static> {
        PersistedSession {
            refresh_token: None,
            expires_at: None,
            clock_source: None,
            refresh_expires_at: None,
            api: None,
            retry: None,
            dpop: false,
            ..full()
        }
    }

    #[test]
    fn the_stored_form_is_the_one_the_serde_derive_wrote() {
        for persisted in [full(), bare()] {
            let derived = serde_json::to_string(&Derived::from(&persisted)).expect("serializes");
            assert_eq!(persisted.to_json().to_json_text(), derived);
        }
    }

    #[test]
    fn reading_accepts_and_refuses_what_the_serde_derive_did() {
        let full = serde_json::to_value(Derived::from(&full())).expect("serializes");
        let with = |key: &str, value: serde_json::Value| {
            let mut object = full.clone();
            object[key] = value;
            object.to_string()
        };
        let without = |key: &str| {
            let mut object = full.clone();
            object.as_object_mut().expect("an object").remove(key);
            object.to_string()
        };
        let mut cases = vec![full.to_string(), bare().to_json().to_json_text()];
        for key in [
            "v",
            "sid",
            "accessToken",
            "receivedAt",
            "clockOffsetMs",
            "dpop",
            "api",
        ] {
            cases.push(without(key));
        }
        for key in [
            "refreshToken",
            "expiresAt",
            "clockSource",
            "refreshExpiresAt",
            "api",
        ] {
            cases.push(with(key, serde_json::Value::Null));
            cases.push(with(key, serde_json::json!(true)));
        }
        for key in ["receivedAt", "expiresAt", "clockOffsetMs"] {
            cases.push(with(key, serde_json::json!(1.5)));
            cases.push(with(key, serde_json::json!("1700000000000")));
        }
        cases.push(with("v", serde_json::json!(-1)));
        cases.push(with("sid", serde_json::json!(5)));
        cases.push(with("dpop", serde_json::Value::Null));
        cases.push(with("dpop", serde_json::json!("yes")));
        cases.push(with("retry", serde_json::Value::Null));
        cases.push(with("retry", serde_json::json!([1, "x"])));
        cases.push(with("extra", serde_json::json!({"ignored": true})));
        cases.push("[]".to_owned());
        for text in cases {
            let ours = json::from_str::<Json>(&text).and_then(|value| {
                PersistedSession::from_json(&value).map(|persisted| Derived::from(&persisted))
            });
            let theirs = serde_json::from_str::<Derived>(&text).ok();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    /// Each way a stored value fails to read is one `storage` error with the whole message
    /// (built once from a small value, no longer at each `return`), the token's own error kept
    /// as its source.
    #[test]
    fn unusable_values_say_why_in_full() {
        let mut v2 = serde_json::to_value(Derived::from(&full())).expect("serializes");
        v2["v"] = serde_json::json!(2);
        let mut shape = serde_json::to_value(Derived::from(&full())).expect("serializes");
        shape["receivedAt"] = serde_json::json!("yesterday");
        let cases = [
            ("{".to_owned(), "not json"),
            ("{}".to_owned(), "no version"),
            (v2.to_string(), "unsupported version 2"),
            (shape.to_string(), "wrong shape"),
            (
                full().to_json().to_json_text(),
                "the access token is malformed",
            ),
        ];
        for (text, why) in cases {
            let error = Session::from_storage(&text).expect_err("unusable");
            assert_eq!(error.code(), ErrorCode::Storage, "{text}");
            assert_eq!(
                error.message(),
                crate::logic::error::concat(&["stored session is unusable: ", why]),
                "{text}"
            );
            #[cfg(feature = "error-source")]
            assert_eq!(
                std::error::Error::source(&error).is_some(),
                why == "the access token is malformed",
                "{text}"
            );
        }
    }

    /// At most [`SharedRetry::MAX_STORED`] failure times travel: the newest when written, the
    /// first when read back; entries that are not integers are skipped, never replaced.
    #[test]
    fn stored_failure_times_are_capped() {
        let shared = SharedRetry {
            failed_at: (0..20).map(|n| Timestamp::from_millis(n * 1_000)).collect(),
            failures: 3,
            retry_at: Timestamp::from_millis(30_000),
            not_before: None,
            code: ErrorCode::Network,
            status: None,
        };
        let written = shared.to_json();
        let times: Vec<i64> = written
            .get("failedAt")
            .and_then(Json::as_array)
            .map(|items| items.iter().filter_map(Json::as_i64).collect())
            .unwrap_or_default();
        assert_eq!(times, (4..20).map(|n| n * 1_000).collect::<Vec<_>>());

        let mut stored: Vec<serde_json::Value> = (0..20).map(|n| serde_json::json!(n)).collect();
        stored[1] = serde_json::json!("x");
        let text = serde_json::json!({
            "retry": {"failedAt": stored, "failures": 3, "retryAt": 30_000, "code": "network"}
        })
        .to_string();
        let read = SharedRetry::from_storage(&text).map(|retry| retry.failed_at);
        let expected: Vec<Timestamp> = (0..16)
            .filter(|n| *n != 1)
            .map(Timestamp::from_millis)
            .collect();
        assert_eq!(read, Some(expected));
        // What was written reads back.
        let round_trip = serde_json::json!({ "retry": serde_json::from_str::<serde_json::Value>(&written.to_json_text()).ok() }).to_string();
        assert_eq!(
            SharedRetry::from_storage(&round_trip).map(|retry| retry.failed_at),
            Some(shared.failed_at.get(4..).unwrap_or_default().to_vec())
        );
    }
}
