//! Target `reply`: reading server replies ([`protocol`]) for every profile and option override,
//! and the requests those options shape.
//!
//! A config is built from fuzz choices ([`world::config`]: profiles, endpoint overrides and
//! `null`s, login and refresh shapes, `responseFields`), then a reply: any status, any
//! `Content-Type`, and a body that is raw text, a token object under the configured (or other)
//! field names with `expires_in` in every spelling, an error object (`detail` as a string, a 422
//! list, an object; `error_description`, `message`, `error`), an HTML page or nothing, and a
//! `Retry-After` that is delay-seconds, an HTTP date, or junk.
//!
//! Properties, besides never panicking:
//! - `parse_token_reply` accepts exactly the 2xx replies whose body is a JSON object with a
//!   non-blank string under the access token field, trims the tokens, reads `expires_in` as a
//!   finite non-negative number or numeric string (else ignores it), and otherwise returns the
//!   error of [`protocol::error_for`] (non-2xx) or a `protocol` error; every error carries the
//!   reply's status;
//! - `error_for` follows the status table of its docs, is retryable exactly for `network`,
//!   `server` and `rate_limited`, and carries `Retry-After` exactly when retryable and the header
//!   parses; its detail is sanitized (trimmed, single-spaced, at most 200 characters and `…`);
//! - `parse_retry_after` reads delay-seconds and IMF-fixdates (checked against a date written
//!   by an independent calendar), never a wait for a date in the past;
//! - a token the server put into its error text never appears in the error, wherever it stands
//!   (a word of a message, a value inside a `detail` object);
//! - requests built for the config never show the password, refresh or access token in `Debug`.

use std::time::Duration;

use serde_json::{json, Value};
use tokenkeeper::protocol::{self, Endpoint, HttpReply};
use tokenkeeper::schedule::MAX_RETRY_AFTER;
use tokenkeeper::{AuthError, Config, ErrorCode, Timestamp};

use super::input::Input;
use super::world;

/// Checks one fuzz input.
pub fn check(data: &[u8]) {
    run(data);
}

fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let config = world::config(&mut input, false);
    let now = world::instant(&mut input);
    check_requests(&config, &mut input);
    let endpoint = input.pick(&[
        Endpoint::Login,
        Endpoint::Refresh,
        Endpoint::Logout,
        Endpoint::Me,
        Endpoint::Api,
    ]);
    let (reply, secret, retry_date) = build_reply(&mut input, &config, now);
    check_reply(&config, endpoint, &reply, now, secret.as_deref());
    if let Some((text, at)) = retry_date {
        let wait = protocol::parse_retry_after(&text, now);
        assert!(
            same_wait(wait, Some(at.duration_since(now))),
            "Retry-After date {text:?} misread as {wait:?}"
        );
    }
    let header = input.text(40);
    check_retry_after(&header, now);
}

fn build_reply(
    input: &mut Input,
    config: &Config,
    now: Timestamp,
) -> (HttpReply, Option<String>, Option<(String, Timestamp)>) {
    let mut reply = world::json_reply(200, &Value::Null);
    reply.status = match input.u8() % 16 {
        0 => input.u16(),
        1 => 0,
        2 => 201,
        3 => 204,
        4 => 400,
        5 => 401,
        6 => 403,
        7 => 404,
        8 => 422,
        9 => 429,
        10 => 500 + input.u16() % 100,
        11 => input.pick(&[199, 299, 300, 418, 599, 600, 999]),
        _ => 200,
    };
    reply.content_type = match input.u8() % 6 {
        0 => None,
        1 => Some("text/html; charset=utf-8".to_owned()),
        2 => Some("text/plain".to_owned()),
        3 => Some(input.text(20)),
        _ => Some("application/json".to_owned()),
    };
    let mut secret = None;
    reply.body = match input.u8() % 8 {
        0 => input.text(300),
        1 => String::new(),
        2 => format!(
            "<!doctype html><html><head><title>{}</title></head><body>{}</body></html>",
            input.text(40),
            input.text(40)
        ),
        3 | 4 => {
            let (body, token) = error_body(input);
            secret = token;
            body
        }
        _ => token_body(input, config),
    };
    if input.one_in(3) {
        reply.body = format!("  \n{}\t ", reply.body);
    }
    let mut retry_date = None;
    reply.retry_after = match input.u8() % 6 {
        0 => Some(input.u32().to_string()),
        1 => {
            let (text, at) = world::http_date(
                now.as_millis()
                    .saturating_add(input.range_i64(-99_999, 9_999_999) * 100),
            );
            retry_date = Some((text.clone(), at));
            Some(text)
        }
        2 => Some(input.text(32)),
        3 => Some("99999999999999999999999".to_owned()),
        _ => None,
    };
    (reply, secret, retry_date)
}

/// A token object, under the configured field names or others, with odd values at times.
fn token_body(input: &mut Input, config: &Config) -> String {
    let fields = config.response_fields();
    let mut object = serde_json::Map::new();
    let token = world::access_token(u64::from(input.u16()), Some(1.79e9), None);
    let access = match input.u8() % 8 {
        0 => Value::Null,
        1 => json!(""),
        2 => json!("   "),
        3 => json!(42),
        4 => json!(format!("  {token}\n")),
        5 => json!(input.text(30)),
        _ => json!(token),
    };
    let access_name = if input.one_in(6) {
        "access_token".to_owned()
    } else {
        fields.access_token.clone()
    };
    object.insert(access_name, access);
    match input.u8() % 6 {
        0 => {}
        1 => {
            object.insert(fields.refresh_token.clone(), Value::Null);
        }
        2 => {
            object.insert(fields.refresh_token.clone(), json!(" "));
        }
        _ => {
            object.insert(fields.refresh_token.clone(), json!(" rt-0123456789abcdef "));
        }
    }
    if !input.one_in(4) {
        let (value, _) = world::seconds_value(input, None);
        object.insert(fields.expires_in.clone(), value);
    }
    if input.one_in(4) {
        return format!("[{}]", Value::Object(object));
    }
    Value::Object(object).to_string()
}

/// An error body in one of the shapes servers send, sometimes quoting a token in its text.
fn error_body(input: &mut Input) -> (String, Option<String>) {
    let token = world::access_token(900_000 + u64::from(input.u16()), Some(1.79e9), None);
    let quote = input.bool();
    let mut text = input.text(40);
    if quote {
        // The token as a word of the message, between the punctuation prose puts around words.
        let before = input.pick(&[" ", " \"", " (", " '", "\n", " <"]);
        let after = input.pick(&[" ", "\" ", ") ", "'. ", ". ", ">, "]);
        text = format!("{text}{before}{token}{after}{}", input.text(20));
    }
    let secret = quote.then(|| world::secret_of(&token).to_owned());
    let body = match input.u8() % 7 {
        0 => json!({"detail": text}),
        1 => json!({"detail": [
            {"loc": ["body", input.text(8), input.u8()], "msg": text, "type": "value_error"},
            {"loc": [], "msg": input.text(8)},
            {"msg": 3}
        ]}),
        2 => json!({"detail": {"reason": text}}),
        3 => json!({"error": "invalid_grant", "error_description": text}),
        4 => json!({"message": text}),
        5 => json!({"error": text}),
        _ => return (text, secret),
    };
    (body.to_string(), secret)
}

fn check_reply(
    config: &Config,
    endpoint: Endpoint,
    reply: &HttpReply,
    now: Timestamp,
    secret: Option<&str>,
) {
    let success = (200..300).contains(&reply.status);
    let error = protocol::error_for_with(endpoint, reply, config.errors(), now);
    check_error(endpoint, reply, now, &error, secret);

    let fields = config.response_fields();
    for token_endpoint in [Endpoint::Login, Endpoint::Refresh] {
        let parsed =
            protocol::parse_token_reply(token_endpoint, reply, fields, config.errors(), now);
        let body = serde_json::from_str::<Value>(reply.body.trim()).ok();
        let access = body
            .as_ref()
            .and_then(|body| body.get(&fields.access_token))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|token| !token.is_empty());
        match (&parsed, success, access) {
            (Ok(tokens), true, Some(access)) => {
                assert_eq!(tokens.access_token, access, "access token misread");
                let refresh = body
                    .as_ref()
                    .and_then(|body| body.get(&fields.refresh_token))
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|token| !token.is_empty());
                assert_eq!(tokens.refresh_token.as_deref(), refresh, "refresh misread");
                let expires_in = body
                    .as_ref()
                    .and_then(|body| body.get(&fields.expires_in))
                    .and_then(world::expected_seconds);
                assert_eq!(tokens.expires_in, expires_in, "expires_in misread");
            }
            (Ok(_), _, _) => panic!("accepted a reply without a usable access token"),
            (Err(error), false, _) => assert_eq!(
                error,
                &protocol::error_for_with(token_endpoint, reply, config.errors(), now),
                "a non-2xx token reply must map through error_for"
            ),
            (Err(error), true, None) => {
                assert_eq!(error.code(), ErrorCode::Protocol, "{error}");
                assert_eq!(error.status(), Some(reply.status));
            }
            (Err(error), true, Some(_)) => panic!("refused a good token reply: {error}"),
        }
    }

    let json = protocol::parse_json_reply(endpoint, reply, config.errors(), now);
    match (&json, success) {
        (Ok(value), true) => assert_eq!(
            Some(value),
            serde_json::from_str::<tokenkeeper::Json>(reply.body.trim())
                .ok()
                .as_ref()
        ),
        (Err(error), true) => assert_eq!(error.code(), ErrorCode::Protocol),
        (Err(got), false) => assert_eq!(got, &error),
        (Ok(_), false) => panic!("parse_json_reply accepted a non-2xx reply"),
    }
    let logout = protocol::parse_logout_reply(reply, config.errors(), now);
    assert_eq!(logout.is_ok(), success, "logout replies: any 2xx is fine");
    if let Err(got) = logout {
        assert_eq!(
            got,
            protocol::error_for_with(Endpoint::Logout, reply, config.errors(), now)
        );
    }
}

/// The status table of `error_for` and the rules every error follows.
fn check_error(
    endpoint: Endpoint,
    reply: &HttpReply,
    now: Timestamp,
    error: &AuthError,
    secret: Option<&str>,
) {
    use ErrorCode::*;
    let code = error.code();
    let allowed: &[ErrorCode] = match (reply.status, endpoint) {
        (429, _) => &[RateLimited],
        (500..=599, _) => &[Server],
        (422, _) => &[Protocol],
        (400 | 401, Endpoint::Login) => &[AccountDisabled, InvalidCredentials],
        (403, Endpoint::Login) => &[AccountDisabled],
        (400 | 401 | 403, Endpoint::Refresh) => &[RefreshFailed],
        (400, _) => &[AccountDisabled, Protocol],
        (401, _) => &[
            AccountDisabled,
            TokenRevoked,
            TokenExpired,
            NotAuthenticated,
        ],
        (403, _) => &[AccountDisabled, Forbidden],
        _ => &[Protocol],
    };
    assert!(
        allowed.contains(&code),
        "status {} from {} mapped to {code}",
        reply.status,
        endpoint.name()
    );
    assert_eq!(error.status(), Some(reply.status), "the status is lost");
    assert_eq!(error.is_retryable(), code.is_retryable());
    let expected_wait = reply
        .retry_after
        .as_deref()
        .filter(|_| code.is_retryable())
        .and_then(|value| protocol::parse_retry_after(value, now));
    assert_eq!(error.retry_after(), expected_wait, "Retry-After misapplied");
    if let Some(detail) = error.detail() {
        assert_eq!(detail, detail.trim(), "detail is not trimmed");
        assert!(!detail.contains("  "), "detail keeps runs of spaces");
        assert!(
            !detail.chars().any(|c| c.is_whitespace() && c != ' '),
            "detail keeps whitespace other than single spaces"
        );
        let chars = detail.chars().count();
        assert!(
            chars <= 200 || (chars == 201 && detail.ends_with('…')),
            "detail is {chars} characters long"
        );
    }
    if let Some(secret) = secret {
        for text in [
            error.to_string(),
            format!("{error:?}"),
            error.message().to_owned(),
            error.detail().unwrap_or_default().to_owned(),
        ] {
            assert!(
                !text.contains(secret),
                "a token from the reply body shows in the error: {text}"
            );
        }
    }
}

fn check_retry_after(value: &str, now: Timestamp) {
    let wait = protocol::parse_retry_after(value, now);
    let trimmed = value.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is "very long", which the cap makes five minutes.
        let expected = Some(
            trimmed
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
        assert!(
            same_wait(wait, expected),
            "delay-seconds {value:?} misread as {wait:?}"
        );
    }
}

/// Whether a parsed wait is `want`, allowing the cap at [`MAX_RETRY_AFTER`] that the machine
/// applies (a parser may apply it too).
fn same_wait(got: Option<Duration>, want: Option<Duration>) -> bool {
    got == want || got == want.map(|wait| wait.min(MAX_RETRY_AFTER))
}

/// Requests shaped by the config: they build for any config and never show secrets in `Debug`.
fn check_requests(config: &Config, input: &mut Input) {
    let password = format!("pw-S3cr3t-{:08x}", input.u32());
    let username = input.text(12);
    let login = protocol::login_request(config, &username, &password);
    let body = login.body_text().unwrap_or_default();
    assert!(
        body.contains(&password),
        "the login body lacks the password"
    );
    assert!(
        !format!("{login:?}").contains(&password),
        "password in Debug"
    );

    let refresh_token = format!("rt-S3cr3t-{:016x}", input.u64());
    let refresh = protocol::refresh_request(config, Some(&refresh_token));
    assert_eq!(
        refresh.is_some(),
        config.has_refresh_endpoint(),
        "a refresh request exactly when there is a refresh endpoint"
    );
    assert_eq!(
        protocol::can_refresh(config, Some(&refresh_token)),
        config.has_refresh_endpoint()
    );
    if let Some(refresh) = refresh {
        assert!(
            !format!("{refresh:?}").contains(&refresh_token),
            "refresh token in Debug"
        );
    }
    let access = world::access_token(7, Some(1.79e9), None);
    for request in [
        protocol::logout_requests(config, &access, None, false)
            .into_iter()
            .next(),
        protocol::me_request(config, &access, false).ok(),
    ]
    .into_iter()
    .flatten()
    {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {access}").as_str())
        );
        assert!(
            !format!("{request:?}").contains(world::secret_of(&access)),
            "access token in Debug"
        );
    }
}
