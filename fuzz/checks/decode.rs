//! Target `decode`: the unverified token decoder ([`decode_unverified`]).
//!
//! Two kinds of input, chosen by the first byte:
//! - **raw**: the rest of the bytes (lossy UTF-8) are the token, to hammer the splitting, base64
//!   and length rules;
//! - **built**: a header and a payload are assembled from fuzz choices (known good headers or
//!   fuzz text; JSON objects with time claims of every type and range) and encoded, so the
//!   fuzzer reaches the JSON and claim rules behind the base64 wall. For these the expected
//!   answer is known, and the decoder must give it.
//!
//! Properties, besides never panicking:
//! - an accepted token has exactly three parts, at most [`MAX_TOKEN_LEN`] bytes, a payload that
//!   re-encodes to exactly the payload part (canonical base64url), claims equal to that JSON
//!   object, and `exp`/`iat`/`nbf` equal to the JSON numbers in milliseconds;
//! - a refused token's error (and the `AuthError` made from it) never quotes the token and keeps
//!   no `source()`; the `AuthError` code is `invalid_token`;
//! - decoding is deterministic.

use serde_json::{Map, Value};
use tokenkeeper::{
    decode_unverified, AuthError, DecodeError, ErrorCode, Json, TimeClaim, Timestamp,
};
use tokenkeeper::{TokenPart, MAX_TOKEN_LEN};

use super::input::{base64url, Input};

/// Headers the decoder must accept.
const GOOD_HEADERS: [&str; 4] = [
    r#"{"alg":"HS256","typ":"JWT"}"#,
    r#"{"alg":"none"}"#,
    r#"{"alg":"RS256","kid":"k1","typ":"at+jwt"}"#,
    r#"{"typ":null,"alg":"ES256"}"#,
];

/// Checks one fuzz input.
pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    if input.u8() % 4 == 0 {
        let token = String::from_utf8_lossy(input.rest()).into_owned();
        check_token(&token, None);
    } else {
        let (token, expected) = built_token(&mut input);
        check_token(&token, Some(expected));
    }
}

/// What a built token must decode to.
enum Expected {
    /// Claims equal to this object.
    Claims(Map<String, Value>),
    /// This error.
    Error(DecodeError),
    /// Unknown (a fuzz-text header): only the general properties apply.
    Unknown,
}

fn built_token(input: &mut Input) -> (String, Expected) {
    let header_choice = input.u8();
    let header = if header_choice % 8 == 7 {
        input.text(64)
    } else {
        GOOD_HEADERS[usize::from(header_choice) % GOOD_HEADERS.len()].to_owned()
    };
    let header_known = header_choice % 8 != 7;
    let payload = payload_text(input);
    let signature = match input.u8() % 4 {
        0 => String::new(),
        1 => base64url(input.bytes(40)),
        _ => "c2lnbmF0dXJl".to_owned(),
    };
    let token = format!(
        "{}.{}.{}",
        base64url(header.as_bytes()),
        base64url(payload.as_bytes()),
        signature
    );
    let expected = if !header_known {
        Expected::Unknown
    } else if token.len() > MAX_TOKEN_LEN {
        Expected::Error(DecodeError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        })
    } else if payload.is_empty() {
        Expected::Error(DecodeError::EmptyPart {
            part: TokenPart::Payload,
        })
    } else {
        expected_for_payload(&payload)
    };
    (token, expected)
}

/// The payload JSON: usually an object of claims built from choices, sometimes fuzz text.
fn payload_text(input: &mut Input) -> String {
    if input.one_in(8) {
        return input.text(200);
    }
    let mut out = String::from("{");
    let count = input.choose(8);
    for index in 0..count {
        if index > 0 {
            out.push(',');
        }
        let key = match input.u8() % 10 {
            0..=2 => "exp".to_owned(),
            3 => "iat".to_owned(),
            4 => "nbf".to_owned(),
            5 => "sub".to_owned(),
            6 => "roles".to_owned(),
            7 => "realm_access".to_owned(),
            _ => input.text(8),
        };
        out.push_str(&Value::String(key).to_string());
        out.push(':');
        out.push_str(&json_value_text(input, 0));
    }
    out.push('}');
    out
}

/// A JSON value as text, numbers spelled the many ways JSON allows.
fn json_value_text(input: &mut Input, depth: u8) -> String {
    match input.u8() % 12 {
        0 => "null".to_owned(),
        1 => "true".to_owned(),
        2 => Value::String(input.text(24)).to_string(),
        3 => format!("{}", input.edgy_i64()),
        4 => format!(
            "{}.{}",
            input.range_i64(-2_000_000_000, 2_000_000_000),
            input.u16()
        ),
        5 => format!("{}e{}", input.u16(), i32::from(input.u8() as i8)),
        6 => format!("{}", f64::from_bits(input.u64())).replace("inf", "1e999"),
        7 if depth < 3 => {
            let items: Vec<String> = (0..input.choose(4))
                .map(|_| json_value_text(input, depth + 1))
                .collect();
            format!("[{}]", items.join(","))
        }
        8 if depth < 3 => format!(
            "{{\"roles\":{},\"x\":{}}}",
            json_value_text(input, depth + 1),
            json_value_text(input, depth + 1)
        ),
        9 => "-0".to_owned(),
        _ => format!("{}", 1_700_000_000 + i64::from(input.u32())),
    }
}

/// The decoder's answer for a well-formed header and this payload, worked out independently.
fn expected_for_payload(payload: &str) -> Expected {
    let map = match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            return Expected::Error(DecodeError::NotObject {
                part: TokenPart::Payload,
            })
        }
        Err(_) => {
            return Expected::Error(DecodeError::NotJson {
                part: TokenPart::Payload,
            })
        }
    };
    for claim in [TimeClaim::Exp, TimeClaim::Iat, TimeClaim::Nbf] {
        match map.get(claim.name()) {
            None => {}
            Some(Value::Number(number)) if expected_time(number.as_f64()).is_none() => {
                return Expected::Error(DecodeError::TimeOutOfRange { claim });
            }
            Some(Value::Number(_)) => {}
            Some(_) => return Expected::Error(DecodeError::TimeNotNumeric { claim }),
        }
    }
    Expected::Claims(map)
}

/// A NumericDate in milliseconds, if within ±2^53 ms (the rule of the module docs).
fn expected_time(seconds: Option<f64>) -> Option<Timestamp> {
    let millis = (seconds? * 1000.0).round();
    (millis.is_finite() && millis.abs() <= 9_007_199_254_740_991.0)
        .then(|| Timestamp::from_millis(millis as i64))
}

fn check_token(token: &str, expected: Option<Expected>) {
    let result = decode_unverified(token);
    assert_eq!(
        result,
        decode_unverified(token),
        "decoding is not deterministic"
    );
    match &result {
        Ok(decoded) => {
            assert!(token.len() <= MAX_TOKEN_LEN, "accepted an oversized token");
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3, "accepted a token without three parts");
            let claims = decoded.claims();
            assert_eq!(
                base64url(claims.payload_json().as_bytes()),
                parts[1],
                "the payload part is not the canonical encoding of the claims' JSON"
            );
            match serde_json::from_str::<Json>(claims.payload_json()) {
                Ok(Json::Object(map)) => assert_eq!(&map, claims.as_map(), "claims differ"),
                _ => panic!("accepted a payload that is not a JSON object"),
            }
            for (claim, value) in [
                (TimeClaim::Exp, claims.exp()),
                (TimeClaim::Iat, claims.iat()),
                (TimeClaim::Nbf, claims.nbf()),
            ] {
                let stated = claims.get(claim.name()).map(|v| expected_time(v.as_f64()));
                assert_eq!(stated.flatten(), value, "`{claim}` misread");
            }
        }
        Err(error) => check_error_hides_token(token, error),
    }
    match (expected, result) {
        (None | Some(Expected::Unknown), _) => {}
        (Some(Expected::Claims(map)), Ok(decoded)) => {
            let expected: Json = serde_json::from_value(Value::Object(map)).expect("claims");
            assert_eq!(
                expected.as_object(),
                Some(decoded.claims().as_map()),
                "wrong claims"
            )
        }
        (Some(Expected::Claims(_)), Err(error)) => {
            panic!("refused a well-formed token: {error}")
        }
        (Some(Expected::Error(want)), Err(error)) => assert_eq!(want, error, "wrong error"),
        (Some(Expected::Error(want)), Ok(_)) => panic!("accepted a token that is {want}"),
    }
}

/// A refused token is never quoted: not in the error, its `Debug`, or the `AuthError`.
fn check_error_hides_token(token: &str, error: &DecodeError) {
    assert!(
        std::error::Error::source(error).is_none(),
        "a DecodeError keeps a source, which may quote the input"
    );
    let auth = AuthError::from(error.clone());
    assert_eq!(auth.code(), ErrorCode::InvalidToken);
    let texts = [
        error.to_string(),
        format!("{error:?}"),
        auth.to_string(),
        format!("{auth:?}"),
    ];
    // Short parts are words any message may contain ("header", "5"), and text with spaces or
    // braces may spell a message; 24 bytes of base64url are a token's, never a message's.
    let base64url = |part: &&str| {
        part.len() >= 24
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let secrets = token.split('.').filter(base64url);
    for secret in secrets {
        for text in &texts {
            assert!(!text.contains(secret), "the error quotes the token: {text}");
        }
    }
}
