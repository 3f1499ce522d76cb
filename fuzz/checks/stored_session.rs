//! Target `stored_session`: reading the session kept in storage ([`Session::from_storage`]), and
//! starting a machine from it.
//!
//! Storage is input from outside: another version of the SDK, another app on the origin, a user
//! editing `localStorage`, a browser extension. The value is raw text, or a JSON object built
//! field by field from choices (each field right, of the wrong type, missing or at the edges of
//! its range; a `retry` hint of any shape).
//!
//! Properties, besides never panicking:
//! - a value read back writes out and reads back to an equal session (`to_storage` round trip),
//!   and its accessors work at any instant and leeway;
//! - a value whose every field is well-formed is accepted with exactly those values;
//! - a refused value is a `storage` error that does not quote the token, and `Debug` of a session
//!   never shows its tokens;
//! - a machine started from the value (shared storage, so `retry` hints are read) answers
//!   `getAccessToken()` and ticks at any instant, with its phase consistent with its session.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokenkeeper::{AuthClientOptions, Config, Effect, ErrorCode, Event, Jitter, OpId, Phase};
use tokenkeeper::{Session, SessionMachine, Timestamp};

use super::input::Input;
use super::world;

/// Checks one fuzz input.
pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let (text, expected) = if input.one_in(4) {
        (String::from_utf8_lossy(input.rest()).into_owned(), None)
    } else {
        let (value, expected) = built_value(&mut input);
        (value.to_string(), expected)
    };
    let now = world::instant(&mut input);
    check_text(&text, expected.as_ref(), now, &mut input);
}

/// What a well-formed value must read as.
struct Expected {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
    received_at: i64,
    clock_offset_ms: i64,
    lineage: String,
}

/// A stored value built field by field; `Some(Expected)` when every field is well-formed.
fn built_value(input: &mut Input) -> (Value, Option<Expected>) {
    let mut object = Map::new();
    let mut good = true;
    // Writes `value` under `name` (or leaves it out, or puts an object there); returns what a
    // reader must take from it (`Null` when left out).
    let mut field =
        |input: &mut Input, name: &str, value: Value, required: bool| match input.u8() % 16 {
            0 => {
                good &= !required;
                Value::Null
            }
            1 => {
                object.insert(name.into(), json!({"nested": true}));
                good = false;
                Value::Null
            }
            _ => {
                object.insert(name.into(), value.clone());
                value
            }
        };
    let version = match input.u8() % 12 {
        0 => json!(2),
        1 => json!("1"),
        2 => json!(1.0),
        3 => json!(u64::MAX),
        _ => json!(1),
    };
    let version_good = version == json!(1);
    field(input, "v", version, true);
    let exp = 1_790_000_000.0 + f64::from(input.u16());
    let access = match input.u8() % 10 {
        0 => json!(input.text(40)),
        1 => json!("a.b.c"),
        _ => json!(world::access_token(1, Some(exp), None)),
    };
    let access_good = access
        .as_str()
        .is_some_and(|a| tokenkeeper::decode_unverified(a).is_ok());
    let access = field(input, "accessToken", access, true);
    let sid = json!(format!("sid-{}", input.u16()));
    let sid = field(input, "sid", sid, true);
    let refresh = match input.u8() % 5 {
        0 => Value::Null,
        1 => json!(""),
        _ => json!(format!("rt-S3cr3t-{:016x}", input.u64())),
    };
    let refresh = field(input, "refreshToken", refresh, false);
    let expires_at = json!(input.edgy_i64());
    let expires_at = field(input, "expiresAt", expires_at, false);
    let received_at = json!(input.edgy_i64());
    let received_at = field(input, "receivedAt", received_at, true);
    let offset = json!(input.edgy_i64());
    let offset = field(input, "clockOffsetMs", offset, true);
    let refresh_expires = json!(input.edgy_i64());
    field(input, "refreshExpiresAt", refresh_expires, false);
    if input.bool() {
        let api = input.pick(&["https://api.example.com/auth/login", "/auth/login", "x"]);
        field(input, "api", json!(api), false);
    }
    if input.bool() {
        let hint = retry_hint(input);
        field(input, "retry", hint, false);
    }
    if input.one_in(4) {
        object.insert(format!("x-{}", input.text(8)), json!(input.text(8)));
    }
    let expected = (good && version_good && access_good).then(|| Expected {
        access_token: access.as_str().unwrap_or_default().to_owned(),
        refresh_token: refresh
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_owned),
        expires_at: expires_at.as_i64(),
        received_at: received_at.as_i64().unwrap_or_default(),
        clock_offset_ms: offset.as_i64().unwrap_or_default(),
        lineage: sid.as_str().unwrap_or_default().to_owned(),
    });
    (Value::Object(object), expected)
}

/// A `retry` hint (failed refreshes another tab shares) of any shape.
pub fn retry_hint(input: &mut Input) -> Value {
    if input.one_in(6) {
        return json!(input.text(16));
    }
    let failed_at: Vec<Value> = (0..input.choose(24))
        .map(|_| match input.u8() % 8 {
            0 => json!("x"),
            1 => json!(input.edgy_i64()),
            _ => json!(1_790_000_000_000i64 + i64::from(input.u32())),
        })
        .collect();
    let code = input.pick(&["network", "server", "rate_limited", "refresh_failed", ""]);
    let mut hint = json!({
        "failedAt": failed_at,
        "failures": match input.u8() % 4 { 0 => json!(u64::MAX), 1 => json!(u32::MAX), _ => json!(input.u8()) },
        "retryAt": input.edgy_i64(),
        "code": code,
    });
    if input.bool() {
        hint["notBefore"] = json!(input.edgy_i64());
    }
    if input.bool() {
        hint["status"] = json!(input.u16());
    }
    hint
}

fn check_text(text: &str, expected: Option<&Expected>, now: Timestamp, input: &mut Input) {
    let parsed = Session::from_storage(text);
    match &parsed {
        Ok(session) => {
            let written = session.to_storage();
            let again = Session::from_storage(&written)
                .unwrap_or_else(|error| panic!("a session it wrote does not read back: {error}"));
            assert!(
                &again == session,
                "the storage round trip changed the session"
            );
            assert_eq!(again.to_storage(), written, "to_storage is not stable");
            assert!(
                tokenkeeper::decode_unverified(session.access_token()).is_ok(),
                "accepted a session whose access token does not decode"
            );
            let debug = format!("{session:?}");
            assert!(!debug.contains(world::secret_of(session.access_token())));
            if let Some(refresh) = session.refresh_token() {
                assert!(
                    refresh.len() < 8 || !debug.contains(refresh),
                    "refresh token in Debug"
                );
            }
            let leeway = Duration::from_millis(input.u64() >> input.u8().min(63));
            let _ = session.is_expired(now, leeway);
            let _ = session.lifetime();
            let _ = session.stated_expires_at();
        }
        Err(error) => {
            assert_eq!(error.code(), ErrorCode::Storage, "{error}");
            if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
                if let Some(Value::String(token)) = map.get("accessToken") {
                    // Only token-like secrets: fuzz text may spell the error message itself.
                    let secret = world::secret_of(token);
                    let token_like = secret
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    if secret.len() >= 20 && token_like {
                        assert!(!error.to_string().contains(secret), "token in error");
                        assert!(!format!("{error:?}").contains(secret), "token in Debug");
                    }
                }
            }
        }
    }
    if let Some(want) = expected {
        let session = parsed
            .as_ref()
            .unwrap_or_else(|error| panic!("refused a well-formed stored session: {error}"));
        assert_eq!(session.access_token(), want.access_token);
        assert_eq!(session.refresh_token(), want.refresh_token.as_deref());
        assert_eq!(
            session.expires_at().map(Timestamp::as_millis),
            want.expires_at
        );
        assert_eq!(session.received_at().as_millis(), want.received_at);
        assert_eq!(session.clock_offset().as_millis(), want.clock_offset_ms);
        assert_eq!(session.lineage(), want.lineage);
    }
    start_machine(text, now, input);
}

/// A machine started from the value answers calls and ticks without breaking its invariants.
fn start_machine(text: &str, now: Timestamp, input: &mut Input) {
    let config = Config::resolve(AuthClientOptions::new("https://api.example.com"))
        .unwrap_or_else(|error| panic!("default options: {error}"));
    let leeway = config.leeway();
    let mut machine = SessionMachine::new(config, Jitter::Seeded(input.u64()));
    let mut open = Vec::new();
    let mut now = now;
    for (index, event) in [
        Event::Start {
            stored: Ok(Some(text.to_owned())),
        },
        Event::GetAccessToken { op: OpId(1) },
        Event::Tick,
        Event::Refresh { op: OpId(2) },
    ]
    .into_iter()
    .enumerate()
    {
        if let Event::GetAccessToken { op } | Event::Refresh { op } = &event {
            open.push(*op);
        }
        if index > 0 {
            now = Timestamp::from_millis(now.as_millis().saturating_add(input.edgy_i64().max(0)));
        }
        for effect in machine.handle(event, now) {
            match effect {
                Effect::Complete { op, .. } => {
                    let position = open.iter().position(|o| *o == op);
                    assert!(position.is_some(), "{op:?} settled twice or never opened");
                    open.retain(|o| *o != op);
                }
                Effect::ScheduleTick { at } => assert!(at >= now, "a tick in the past"),
                _ => {}
            }
        }
        let phase = machine.phase(now);
        assert_eq!(phase == Phase::SignedOut, machine.session().is_none());
        if phase == Phase::SignedIn {
            let session = machine.session().expect("signed in");
            assert!(
                !session.is_expired(now, leeway),
                "SignedIn with an expired token"
            );
        }
    }
}
