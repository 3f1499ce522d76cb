//! Pieces shared by the checks: client options for every profile and override, token minting,
//! and server replies.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tokenkeeper::protocol::HttpReply;
use tokenkeeper::{AuthClientOptions, Config, Timestamp};

use super::input::{jwt, Input};

/// Names a token reply may keep its fields under (`responseFields` overrides).
const FIELD_NAMES: [&str; 6] = ["access_token", "token", "accessToken", "jwt", "a.b", "exp"];

/// Client options from fuzz choices: each profile, each override of the endpoints, the login and
/// refresh shapes, the response field names, storage, timing. A choice that `Config::resolve`
/// refuses falls back to the standard profile; resolving must never panic either way.
/// `force_shared` keeps the storage shared between tabs (`local`).
pub fn config(input: &mut Input, force_shared: bool) -> Config {
    let mut options = Map::new();
    let base = match input.u8() % 8 {
        0 => json!("/api"),
        1 => json!("https://api.example.com/v2/"),
        2 => json!(input.text(24)),
        _ => json!("https://api.example.com"),
    };
    options.insert("baseUrl".into(), base);
    if input.bool() {
        let profile = input.pick(&[
            "standard",
            "minimal",
            "v1",
            "simplejwt",
            "flask-jwt-extended",
            "fastapi-users",
        ]);
        options.insert("profile".into(), json!(profile));
    }
    if input.one_in(3) {
        let mut endpoints = Map::new();
        for name in ["login", "refresh", "logout", "me"] {
            match input.u8() % 6 {
                0 if name != "login" => {
                    endpoints.insert(name.into(), Value::Null);
                }
                1 => {
                    endpoints.insert(name.into(), json!(format!("/x/{name}")));
                }
                2 => {
                    endpoints.insert(name.into(), json!("https://auth.example.org/t?a=1"));
                }
                _ => {}
            }
        }
        options.insert("endpoints".into(), Value::Object(endpoints));
    }
    if input.one_in(3) {
        let encoding = input.pick(&["form", "json"]);
        let user = input.pick(&["username", "email", "login"]);
        options.insert(
            "login".into(),
            json!({"encoding": encoding, "usernameField": user}),
        );
    }
    if input.one_in(2) {
        let via = input.pick(&["json", "query", "cookie", "bearer"]);
        let field = input.pick(&["refresh_token", "refresh", "rt"]);
        options.insert("refresh".into(), json!({"via": via, "field": field}));
    }
    if input.one_in(3) {
        let mut fields = Map::new();
        for name in ["accessToken", "refreshToken", "expiresIn"] {
            if input.bool() {
                fields.insert(name.into(), json!(input.pick(&FIELD_NAMES)));
            }
        }
        options.insert("responseFields".into(), Value::Object(fields));
    }
    let mut storage = input.pick(&["local", "local", "memory", "session"]);
    if force_shared {
        storage = "local";
    }
    options.insert("storage".into(), json!(storage));
    if input.one_in(4) {
        options.insert("autoRefresh".into(), json!(false));
    }
    if input.one_in(3) {
        let margin = f64::from(input.u16() % 600) / f64::from(1 + input.u8() % 4);
        options.insert("refreshMarginSeconds".into(), json!(margin));
    }
    if input.one_in(3) {
        options.insert("leewaySeconds".into(), json!(f64::from(input.u8() % 90)));
    }
    if input.one_in(4) {
        // One or two logout calls, any shape: impossible ones are refused (and fall back).
        let calls: Vec<Value> = (0..1 + input.u8() % 2)
            .map(|_| {
                let mut call = Map::new();
                call.insert("method".into(), json!(input.pick(&["POST", "DELETE"])));
                call.insert(
                    "bearer".into(),
                    json!(input.pick(&["access", "refresh", "none"])),
                );
                if input.bool() {
                    call.insert("refreshToken".into(), json!(input.pick(&["json", "form"])));
                    call.insert("field".into(), json!(input.pick(&FIELD_NAMES)));
                }
                Value::Object(call)
            })
            .collect();
        options.insert("logout".into(), Value::Array(calls));
    }
    if input.one_in(4) {
        let fields = input.pick(&["msg", "messages[].message", "errors[].detail", "detail"]);
        options.insert("errorFields".into(), json!([fields, "detail"]));
        options.insert("tokenErrorStatuses".into(), json!([401, 422]));
    }
    let resolved = serde_json::from_value::<AuthClientOptions>(Value::Object(options))
        .ok()
        .and_then(|options| Config::resolve(options).ok());
    resolved.unwrap_or_else(|| {
        Config::resolve(AuthClientOptions::new("https://api.example.com"))
            .unwrap_or_else(|error| panic!("the default options must resolve: {error}"))
    })
}

/// An instant for parsing: usually near today, sometimes at the ends of time.
pub fn instant(input: &mut Input) -> Timestamp {
    if input.one_in(8) {
        Timestamp::from_millis(input.edgy_i64())
    } else {
        Timestamp::from_millis(1_790_000_000_000 + i64::from(input.u32()))
    }
}

/// A minted access token: a JWT whose payload part is unique and at least 20 bytes, so checks
/// can look for it in text that must not contain tokens.
pub fn access_token(serial: u64, exp: Option<f64>, iat: Option<f64>) -> String {
    let mut claims = json!({"sub": "42", "jti": format!("access-{serial:06}"), "type": "access"});
    if let Some(exp) = exp {
        claims["exp"] = json!(exp);
    }
    if let Some(iat) = iat {
        claims["iat"] = json!(iat);
    }
    jwt(r#"{"alg":"HS256","typ":"JWT"}"#, &claims.to_string())
}

/// The secret part of a token: what must never show up in logs or errors.
pub fn secret_of(token: &str) -> &str {
    token.split('.').nth(1).unwrap_or(token)
}

/// A seconds value (`expires_in`) written in one of the ways servers write it, with the
/// duration a correct reader takes from it.
pub fn seconds_value(input: &mut Input, honest: Option<u32>) -> (Value, Option<Duration>) {
    if let Some(seconds) = honest {
        return match input.u8() % 3 {
            0 => (
                json!(seconds.to_string()),
                Some(Duration::from_secs(seconds.into())),
            ),
            _ => (json!(seconds), Some(Duration::from_secs(seconds.into()))),
        };
    }
    let value = match input.u8() % 10 {
        0 => json!(-f64::from(input.u16())),
        1 => json!(f64::from(input.u32()) / 7.0),
        2 => json!(format!(" {} ", input.u16())),
        3 => json!("soon"),
        4 => json!(true),
        5 => json!(1e300),
        6 => json!(u64::MAX),
        7 => json!(format!("{}e{}", input.u8(), input.u8())),
        8 => Value::Null,
        _ => json!(input.u16()),
    };
    let expected = expected_seconds(&value);
    (value, expected)
}

/// How `expires_in` must be read: a non-negative finite number of seconds, from a JSON number
/// or a numeric string; anything else is ignored.
pub fn expected_seconds(value: &Value) -> Option<Duration> {
    let seconds = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
}

/// A JSON reply with `status` and `body`.
// Field by field on a default, so that replies may gain fields (headers) without this breaking.
#[allow(clippy::field_reassign_with_default)]
pub fn json_reply(status: u16, body: &Value) -> HttpReply {
    let mut reply = HttpReply::default();
    reply.status = status;
    reply.content_type = Some("application/json".to_owned());
    reply.body = body.to_string();
    reply
}

/// An IMF-fixdate (`Retry-After` as a date) for `millis` since the epoch, written from scratch
/// (a day count by loop, not the library's formula), with the second it names.
pub fn http_date(millis: i64) -> (String, Timestamp) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let seconds = millis.div_euclid(1000).clamp(0, 253_402_300_799);
    let mut days = seconds / 86_400;
    let weekday = WEEKDAYS[(days % 7) as usize];
    let mut year = 1970;
    loop {
        let length = if is_leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let mut month = 0;
    loop {
        let length = month_length(year, month);
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    let rest = seconds % 86_400;
    let text = format!(
        "{weekday}, {:02} {} {year} {:02}:{:02}:{:02} GMT",
        days + 1,
        MONTHS[month],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    );
    (text, Timestamp::from_millis(seconds * 1000))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn month_length(year: i64, month: usize) -> i64 {
    match month {
        1 if is_leap(year) => 29,
        1 => 28,
        3 | 5 | 8 | 10 => 30,
        _ => 31,
    }
}
