//! Tests of the session machine, by topic; the fixtures they share are here. Every time is in
//! seconds after the test epoch [`T0`], and effects are compared as short lines ([`describe`]).

mod backoff;
mod calls;
mod contract;
mod dpop;
mod me;
mod properties;
mod refresh;
mod table;
mod tabs;

use std::time::Duration;

use serde_json::{json, Value};

use super::contract::in_rank_order;
use super::persisted::SharedRetry;
use super::refresh::{InFlight, Stage};
use super::*;
use crate::logic::config::{AuthClientOptions, Config};
use crate::logic::error::{AuthError, ErrorCode};
use crate::logic::json::Json;
use crate::logic::protocol::{self, Endpoint, HttpReply, TokenReply};
use crate::logic::schedule;
use crate::logic::time::Timestamp;
use crate::logic::token::decode_unverified;

/// The test epoch, in seconds: every time below is relative to it.
const T0: i64 = 1_700_000_000;

fn at(secs: f64) -> Timestamp {
    Timestamp::from_millis(T0 * 1000 + (secs * 1000.0).round() as i64)
}

/// Unpadded base64url, as tokens carry their parts.
fn base64url(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64UrlUnpadded::encode_string(bytes)
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
    let value: Json = crate::logic::json::from_str(json).expect("options parse");
    let options = AuthClientOptions::from_json(&value).expect("options read");
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
                .and_then(Json::as_str)
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
            Effect::EmitInitial { listener, session } => format!(
                "greet listener{} {}",
                listener.0,
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
                    Ok(Outcome::Json(value)) => format!("json {value}"),
                    Err(error) => format!("err {}", error.code()),
                };
                format!("op{} {outcome}", op.0)
            }
        })
        .collect()
}

fn completions(effects: &[Effect]) -> Vec<String> {
    describe(effects)
        .into_iter()
        .filter(|line| line.starts_with("op"))
        .collect()
}

/// The value of the first `Persist` among `effects`.
fn persisted(effects: &[Effect]) -> Option<String> {
    effects.iter().find_map(|effect| match effect {
        Effect::Persist { value } => Some(value.clone()),
        _ => None,
    })
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
            dpop: false,
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

/// The refresh timer fired at 1740 and the request is out.
fn refreshing_memory() -> Fixture {
    let mut fx = signed_in_memory();
    fx.feed(Event::Tick, 1740.0);
    fx
}

/// The refresh at 1740 brought `a2` (expires at 3541) at 1741.
fn refreshed_memory() -> Fixture {
    let mut fx = refreshing_memory();
    let event = fx.reply(Ok(token_reply(&access("a2", 1741.0, 1800.0), Some("r2"))));
    fx.feed(event, 1741.0);
    fx
}

/// The refresh failed with a network error after the token expired.
fn expired_memory() -> Fixture {
    let mut fx = refreshing_memory();
    let event = fx.reply(Err(AuthError::network("offline")));
    fx.feed(event, 1801.0);
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

fn signed_in_v1() -> Fixture {
    signed_in_with(v1(), token_reply(&access("a1", 0.0, 1800.0), None))
}

/// `a1` as stored at 0 (expires 1800, refresh token `r1`).
fn stored_a1() -> String {
    let tokens = TokenReply {
        access_token: access("a1", 0.0, 1800.0),
        refresh_token: Some("r1".into()),
        expires_in: None,
        server_date: None,
        dpop: false,
    };
    Session::from_tokens(tokens, None, at(0.0), "login-1")
        .expect("decodes")
        .to_storage()
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
