//! Strict, **unverified** JWT decoding: the header and the whole claims set, with no signature
//! check.
//!
//! The client never holds the signing key, so it cannot tell a genuine token from a forged one.
//! What it decodes here is what the token *says*: good for scheduling a refresh before `exp` and
//! for choosing what the UI shows, never for deciding what a user may do. The server decides.
//!
//! ## Rules (strict, like jose's `decodeJwt`)
//! A token is accepted only if all of these hold, checked in this order; the first that fails is
//! the [`DecodeError`]:
//! 1. at most [`MAX_TOKEN_LEN`] bytes;
//! 2. exactly three dot-separated parts (a five-part JWE is refused by name);
//! 3. the header and the signature are unpadded base64url with canonical trailing bits (the
//!    signature may be empty, as in an unsecured `alg: none` token);
//! 4. the header is UTF-8 JSON, an object, with a string `alg` and, if present, string `typ`,
//!    `kid`, `jku`, `x5u`, `x5t`, `x5t#S256`, `cty`, and no `cty` other than JSON;
//! 5. the payload is not empty, is unpadded canonical base64url, and decodes to UTF-8 JSON that
//!    is an object;
//! 6. `exp`, `iat` and `nbf`, when present, are JSON numbers (integer or float seconds) within
//!    ±2^53 milliseconds of the epoch. `null` or a numeric string is refused: the servers we talk
//!    to (PyJWT, python-jose) refuse those tokens too.
//!
//! "JSON" means what serde_json accepts as a value, on every platform: in wasm the text is parsed
//! by `JSON.parse` only after [`crate::logic::json_check`] has refused what serde_json refuses (a
//! number beyond f64, a lone surrogate, nesting past 127 levels), even inside a value that a
//! repeated claim hides.
//!
//! Error messages name the rule and never contain any part of the token: tokens end up in logs
//! and bug reports, and even a fragment of a payload can be personal data.
//!
//! ## The header rules are jwt-compact's
//! Until 2026-12 jwt-compact's `UntrustedToken` parsed the header here. Its header type takes
//! the fields it does not know through `#[serde(flatten)]`, which made serde buffer every header
//! and cost the npm package 2.9 KB gzip (`bench/SIZE-ANALYSIS.md`, section 9). The decoder now
//! applies the same rules itself, on the parsed header: `alg` a string; `typ`, `kid`,
//! `jku`, `x5u`, `cty`, `x5t` and `x5t#S256` strings or `null`; none of those fields twice; a
//! thumbprint that decodes (jwt-compact's `Thumbprint` rules: exactly 20 or 32 bytes, or a longer
//! UTF-8 text, padding allowed); `cty` JSON in any case.
//! The native tests check it against jwt-compact on the same cases
//! (`header_rules_match_jwt_compact`), and jwt-compact signs and verifies in the companion server
//! and behind the crate's `verify` feature (`tokenkeeper::verify`).
//!
//! ## The JavaScript fast path
//! `decodeClaims` in JavaScript first tries `src/js/decode.js`, which decodes common tokens
//! without entering wasm (about 5x quicker) and leaves every other token to
//! [`decode_unverified`].
//! It must never accept what this decoder refuses, so a change to the rules here needs the same
//! change there; the wasm test suites run both over the same cases
//! (`tests/common/decode_cases.rs`). One corner differs by design: a payload that repeats a
//! claim name, where the value `JSON.parse` drops (it keeps the last, as RFC 7519 §4 allows)
//! holds a number beyond the f64 range or nests deeper than 127 levels: serde_json refuses the
//! payload, the fast path returns the claims (as jose does).

use base64ct::{Base64UrlUnpadded, Encoding};
use std::fmt;

use crate::logic::error::{decimal, fill};
use crate::logic::json::{self, Json, JsonObject};
use crate::logic::json_check;

use crate::logic::time::Timestamp;

/// The largest token accepted, in bytes of its compact serialization: 16 KiB.
///
/// A bearer token travels in an `Authorization` header, and common servers refuse headers much
/// smaller than this (nginx's default line buffer is 8 KiB, Node's whole header block 16 KiB), so
/// no usable token is larger. The cap bounds the work and memory an untrusted string can cost.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// One of the three dot-separated parts of a compact JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPart {
    /// The first part: the JOSE header (`alg`, `typ`, `kid`, ...).
    Header,
    /// The second part: the claims set.
    Payload,
    /// The third part: the signature (never checked on the client).
    Signature,
}

impl TokenPart {
    /// The lowercase name used in error messages: `"header"`, `"payload"` or `"signature"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        }
    }
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A registered time claim: `exp`, `iat` or `nbf` (NumericDate, seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeClaim {
    /// `exp`: the expiration time.
    Exp,
    /// `iat`: the time the token was issued.
    Iat,
    /// `nbf`: the time before which the token must not be accepted.
    Nbf,
}

impl TimeClaim {
    /// The claim name as it appears in the payload: `"exp"`, `"iat"` or `"nbf"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Exp => "exp",
            Self::Iat => "iat",
            Self::Nbf => "nbf",
        }
    }
}

impl fmt::Display for TimeClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a string is not a well-formed JWT. Each variant is one rule of the decoder.
///
/// Messages are lowercase, name the rule that failed and never quote the token: only sizes,
/// counts, part names and the names of registered fields appear in them. No `source()` is kept
/// either, because a JSON parser's message can quote the input. At the JavaScript boundary every
/// variant becomes an `AuthError` with code `"invalid_token"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The token is longer than [`MAX_TOKEN_LEN`].
    TooLarge {
        /// Length of the rejected token, in bytes.
        len: usize,
        /// The limit, [`MAX_TOKEN_LEN`].
        max: usize,
    },
    /// The token does not have exactly three dot-separated parts.
    WrongPartCount {
        /// How many parts were found (5 is an encrypted JWE token).
        found: usize,
    },
    /// The header or the payload part is empty.
    EmptyPart {
        /// The empty part.
        part: TokenPart,
    },
    /// A part is not unpadded, canonical base64url.
    InvalidBase64 {
        /// The part that failed to decode.
        part: TokenPart,
    },
    /// The decoded header or payload is not UTF-8.
    NotUtf8 {
        /// The part that is not UTF-8.
        part: TokenPart,
    },
    /// The decoded header or payload is not valid JSON.
    NotJson {
        /// The part that is not JSON.
        part: TokenPart,
    },
    /// The decoded header or payload is JSON, but not a JSON object.
    NotObject {
        /// The part that is not an object.
        part: TokenPart,
    },
    /// The header has no `alg`, or its `alg` is not a string.
    MissingAlgorithm,
    /// A registered header field has a value of the wrong type or shape.
    InvalidHeaderField {
        /// The offending field (`"kid"`, `"typ"`, `"x5t"`, ...), when it could be told.
        field: Option<&'static str>,
    },
    /// The header's `cty` names a content type other than JSON.
    UnsupportedContentType,
    /// A time claim is present but is not a JSON number.
    TimeNotNumeric {
        /// The claim: `exp`, `iat` or `nbf`.
        claim: TimeClaim,
    },
    /// A time claim is a number outside ±2^53 milliseconds of the epoch.
    TimeOutOfRange {
        /// The claim: `exp`, `iat` or `nbf`.
        claim: TimeClaim,
    },
}

impl DecodeError {
    /// The message: a static template filled with the variant's fields (no `core::fmt`, see
    /// [`crate::logic::error`]). [`Display`](fmt::Display) writes the same.
    pub fn message(&self) -> String {
        let number;
        let (template, field): (&'static str, &str) = match self {
            Self::TooLarge { len, max } => {
                return fill(
                    "token is {} bytes long, over the {}-byte limit",
                    &[&decimal(*len as u64), &decimal(*max as u64)],
                )
            }
            Self::WrongPartCount { found: 5 } => (
                "token must have exactly 3 dot-separated parts, found 5 \
                 (encrypted JWE tokens are not supported)",
                "",
            ),
            Self::WrongPartCount { found } => {
                number = decimal(*found as u64);
                (
                    "token must have exactly 3 dot-separated parts, found {}",
                    &number,
                )
            }
            Self::EmptyPart { part } => ("token {} is empty", part.name()),
            Self::InvalidBase64 { part } => {
                ("token {} is not valid unpadded base64url", part.name())
            }
            Self::NotUtf8 { part } => ("token {} is not valid UTF-8", part.name()),
            Self::NotJson { part } => ("token {} is not valid JSON", part.name()),
            Self::NotObject { part } => ("token {} is not a JSON object", part.name()),
            Self::MissingAlgorithm => ("token header has no string `alg`", ""),
            Self::InvalidHeaderField { field: Some(field) } => {
                ("token header field `{}` has an invalid value", field)
            }
            Self::InvalidHeaderField { field: None } => {
                ("token header has a field with an invalid value", "")
            }
            Self::UnsupportedContentType => (
                "token header `cty` names a content type other than JSON",
                "",
            ),
            Self::TimeNotNumeric { claim } => {
                ("token claim `{}` is not a number of seconds", claim.name())
            }
            Self::TimeOutOfRange { claim } => (
                "token claim `{}` is outside the supported time range",
                claim.name(),
            ),
        };
        fill(template, &[field])
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for DecodeError {}

/// The JOSE header of a token: the fields a client has use for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

impl TokenHeader {
    /// The signing algorithm the token claims, e.g. `"HS256"` (not checked: no key here).
    pub fn alg(&self) -> &str {
        &self.alg
    }

    /// The `typ` header (usually `"JWT"`), if present.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The `kid` header (which key signed the token), if present.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
}

/// The claims set of a token: the whole JSON payload, with typed accessors for common claims.
///
/// It keeps both the parsed object and the payload's JSON text, so JavaScript can rebuild the
/// object with `JSON.parse` (far faster than converting a Rust value across the boundary). The
/// time claims are checked when the claims are built, so their accessors cannot fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    map: JsonObject,
    json: String,
    exp: Option<Timestamp>,
    iat: Option<Timestamp>,
    nbf: Option<Timestamp>,
}

impl Claims {
    /// Claims from the JSON text of a payload, with the same checks as [`decode_unverified`]:
    /// the text must be a JSON object, and `exp`, `iat`, `nbf` must be numbers in range.
    ///
    /// Useful to restore claims saved as JSON without keeping the token itself.
    pub fn from_payload_json(json: String) -> Result<Self, DecodeError> {
        let map = match json::from_str::<Json>(&json) {
            Some(Json::Object(map)) => map,
            Some(_) => {
                return Err(DecodeError::NotObject {
                    part: TokenPart::Payload,
                })
            }
            None => {
                return Err(DecodeError::NotJson {
                    part: TokenPart::Payload,
                })
            }
        };
        Ok(Self {
            exp: time_claim(&map, TimeClaim::Exp)?,
            iat: time_claim(&map, TimeClaim::Iat)?,
            nbf: time_claim(&map, TimeClaim::Nbf)?,
            map,
            json,
        })
    }

    /// The decoded payload as JSON text, exactly as the token carries it (always an object).
    pub fn payload_json(&self) -> &str {
        &self.json
    }

    /// Every claim of the payload, by name.
    pub fn as_map(&self) -> &JsonObject {
        &self.map
    }

    /// The claim `name` at the top level of the payload, if present (a JSON `null` is present).
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.map.get(name)
    }

    /// The subject (`sub`): a string as is, a number in its JSON form (`42` → `"42"`).
    ///
    /// Some backends put a numeric user id in `sub` although the JWT spec asks for a string.
    pub fn sub(&self) -> Option<String> {
        self.map.get("sub").and_then(string_or_number)
    }

    /// The expiration time (`exp`), from integer or float seconds, to the millisecond.
    pub fn exp(&self) -> Option<Timestamp> {
        self.exp
    }

    /// The issue time (`iat`), from integer or float seconds, to the millisecond.
    pub fn iat(&self) -> Option<Timestamp> {
        self.iat
    }

    /// The not-before time (`nbf`), from integer or float seconds, to the millisecond.
    pub fn nbf(&self) -> Option<Timestamp> {
        self.nbf
    }

    /// The `type` claim when it is a string: FastAPI backends mark tokens `"access"` or
    /// `"refresh"` with it.
    pub fn token_type(&self) -> Option<&str> {
        self.str_claim("type")
    }

    /// The `email` claim when it is a string.
    pub fn email(&self) -> Option<&str> {
        self.str_claim("email")
    }

    /// The `scope` claim when it is a string (space-separated OAuth scopes, unsplit).
    pub fn scope(&self) -> Option<&str> {
        self.str_claim("scope")
    }

    /// The `tenant_id` claim: a string as is, a number in its JSON form, like [`Self::sub`].
    pub fn tenant_id(&self) -> Option<String> {
        self.map.get("tenant_id").and_then(string_or_number)
    }

    fn str_claim(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Json::as_str)
    }
}

/// A decoded token whose signature has **not** been checked.
///
/// Its contents are what the token claims, not established facts: use them to schedule refreshes
/// and shape the UI; let the server make every access decision.
#[derive(Debug, Clone, PartialEq)]
pub struct UnverifiedToken {
    header: TokenHeader,
    claims: Claims,
}

impl UnverifiedToken {
    /// The token's header (`alg`, `typ`, `kid`).
    pub fn header(&self) -> &TokenHeader {
        &self.header
    }

    /// The token's claims: the whole payload.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The token's claims, consuming the token.
    pub fn into_claims(self) -> Claims {
        self.claims
    }
}

/// Decodes a compact JWT **without checking its signature**, strictly (see the module docs for
/// the rules). Fails with a [`DecodeError`] naming the first rule broken.
pub fn decode_unverified(token: &str) -> Result<UnverifiedToken, DecodeError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(DecodeError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DecodeError::WrongPartCount {
            found: token.split('.').count(),
        });
    };

    let header = decode_header(header, signature)?;

    if payload.is_empty() {
        return Err(DecodeError::EmptyPart {
            part: TokenPart::Payload,
        });
    }
    let bytes = base64url(payload.as_bytes()).ok_or(DecodeError::InvalidBase64 {
        part: TokenPart::Payload,
    })?;
    // `from_utf8` reuses the buffer: the payload is decoded once and never copied.
    let json = String::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8 {
        part: TokenPart::Payload,
    })?;
    let claims = Claims::from_payload_json(json)?;
    Ok(UnverifiedToken { header, claims })
}

/// The registered header fields that must be strings or `null` (absent), as jwt-compact's
/// header type reads them.
const HEADER_STRING_FIELDS: [&str; 7] = ["typ", "kid", "jku", "x5u", "cty", "x5t", "x5t#S256"];

/// Every header field jwt-compact reads by name: `alg` and the string fields. None may repeat.
const HEADER_FIELDS: [&str; 8] = ["alg", "typ", "kid", "jku", "x5u", "cty", "x5t", "x5t#S256"];

/// Rules 3 and 4: the header and the signature (in that order, as jwt-compact checks them), in
/// one pass that stops at the first fault. Which error a header with several faults gets is
/// pinned by `header_faults_are_reported_in_a_fixed_order`: the type of `alg`, then the type of
/// each string field in [`HEADER_STRING_FIELDS`] order, then a repeated field or a thumbprint
/// that does not decode (both named by the first thumbprint field present), then `cty`.
fn decode_header(encoded: &str, signature: &str) -> Result<TokenHeader, DecodeError> {
    const HEADER: TokenPart = TokenPart::Header;

    let bytes = base64url(encoded.as_bytes()).ok_or(DecodeError::InvalidBase64 { part: HEADER })?;
    if base64url(signature.as_bytes()).is_none() {
        return Err(DecodeError::InvalidBase64 {
            part: TokenPart::Signature,
        });
    }
    if encoded.is_empty() {
        return Err(DecodeError::EmptyPart { part: HEADER });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| DecodeError::NotUtf8 { part: HEADER })?;
    let header = match json::from_str::<Json>(text) {
        Some(Json::Object(map)) => map,
        Some(_) => return Err(DecodeError::NotObject { part: HEADER }),
        None => return Err(DecodeError::NotJson { part: HEADER }),
    };
    let Some(Json::String(alg)) = header.get("alg") else {
        return Err(DecodeError::MissingAlgorithm);
    };
    // Every named field is held to the rule, the ones the SDK never reads too.
    for &name in &HEADER_STRING_FIELDS {
        if let Some(value) = header.get(name) {
            if !value.is_string() && !value.is_null() {
                return Err(DecodeError::InvalidHeaderField { field: Some(name) });
            }
        }
    }
    let string = |name| header.get(name).and_then(Json::as_str);
    let thumbprints_decode = string("x5t").is_none_or(|t| thumbprint_decodes(t, 20))
        && string("x5t#S256").is_none_or(|t| thumbprint_decodes(t, 32));
    // jwt-compact's derived header refuses a named field given twice; a parsed object has lost
    // the first one, so the text itself is asked.
    if !thumbprints_decode || json_check::root_repeats_any(text, &HEADER_FIELDS) {
        let field = if header.contains_key("x5t") {
            Some("x5t")
        } else if header.contains_key("x5t#S256") {
            Some("x5t#S256")
        } else {
            None
        };
        return Err(DecodeError::InvalidHeaderField { field });
    }
    if string("cty").is_some_and(|cty| !cty.eq_ignore_ascii_case("json")) {
        return Err(DecodeError::UnsupportedContentType);
    }
    Ok(TokenHeader {
        alg: alg.clone(),
        typ: string("typ").map(str::to_owned),
        kid: string("kid").map(str::to_owned),
    })
}

/// Whether a certificate thumbprint decodes as jwt-compact's `Thumbprint<len>` requires: up to
/// two `=` of padding are dropped; then canonical base64url of exactly `len` bytes, or of more
/// bytes that are UTF-8 text (a thumbprint written out in hex, say).
fn thumbprint_decodes(value: &str, len: usize) -> bool {
    let mut value = value.as_bytes();
    for _ in 0..2 {
        if let [rest @ .., b'='] = value {
            value = rest;
        }
    }
    let decoded_len = value.len() * 3 / 4;
    if decoded_len < len {
        return false;
    }
    let Some(bytes) = base64url(value) else {
        return false;
    };
    bytes.len() == len || std::str::from_utf8(&bytes).is_ok()
}

/// `text` decoded as unpadded, canonical base64url: what base64ct's `decode_vec` accepts, and
/// the same bytes.
///
/// base64ct decodes (`decode_in_place`: the alphabet, the length); the canonical rule is checked
/// here instead of by `decode_vec`, which re-encodes the last block to compare it and so put
/// base64ct's whole encoder in the npm package (1.2 KB raw) for one comparison. Canonical means
/// the bits that the last character carries beyond the last byte are zero: 4 bits when the
/// length leaves 2 characters over a multiple of 4, 2 bits when it leaves 3 (1 left over is
/// refused by base64ct). The native tests compare this with `decode_vec` on every input shape.
fn base64url(text: &[u8]) -> Option<Vec<u8>> {
    let unused_bits = match text.len() % 4 {
        2 => 0b1111,
        3 => 0b11,
        _ => 0,
    };
    let mut bytes = text.to_vec();
    let len = Base64UrlUnpadded::decode_in_place(&mut bytes).ok()?.len();
    // The last character is in the alphabet: base64ct has just decoded it.
    let last = text.last().map_or(0, |&c| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        _ => 63,
    });
    if last & unused_bits != 0 {
        return None;
    }
    bytes.truncate(len);
    Some(bytes)
}

fn time_claim(map: &JsonObject, claim: TimeClaim) -> Result<Option<Timestamp>, DecodeError> {
    match map.get(claim.name()) {
        None => Ok(None),
        Some(Json::Number(seconds)) => Timestamp::from_seconds_f64(*seconds)
            .map(Some)
            .ok_or(DecodeError::TimeOutOfRange { claim }),
        Some(_) => Err(DecodeError::TimeNotNumeric { claim }),
    }
}

fn string_or_number(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(json::number_text(*n)),
        _ => None,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    /// A serde_json map as the claims object the core reads from the same text.
    fn as_claims(map: Map<String, Value>) -> JsonObject {
        match json::from_str(&Value::Object(map).to_string()) {
            Some(Json::Object(object)) => object,
            _ => unreachable!("a serde_json map is a JSON object"),
        }
    }

    /// A claim as serde_json reads it, to compare with `json!` literals.
    fn as_value(claim: Option<&Json>) -> Option<Value> {
        claim.map(|claim| serde_json::to_value(claim).expect("a Json value serializes"))
    }

    fn b64(bytes: &[u8]) -> String {
        Base64UrlUnpadded::encode_string(bytes)
    }

    /// A token with the given raw header and payload JSON and a dummy signature.
    fn token_from(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            b64(payload.as_bytes()),
            b64(b"sig")
        )
    }

    fn token_with_payload(payload: &str) -> String {
        token_from(r#"{"alg":"HS256","typ":"JWT"}"#, payload)
    }

    fn err(token: &str) -> DecodeError {
        match decode_unverified(token) {
            Ok(decoded) => panic!("expected an error, decoded {decoded:?}"),
            Err(e) => e,
        }
    }

    // The example from RFC 7519 §3.1 (HS256, CRLF inside the JSON, a boolean custom claim).
    const RFC7519_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
        eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
        dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn decodes_the_rfc_example() {
        let token = decode_unverified(RFC7519_TOKEN).expect("RFC token decodes");
        assert_eq!(token.header().alg(), "HS256");
        assert_eq!(token.header().typ(), Some("JWT"));
        assert_eq!(token.header().kid(), None);
        let claims = token.claims();
        assert_eq!(
            claims.exp(),
            Some(Timestamp::from_millis(1_300_819_380_000))
        );
        assert_eq!(as_value(claims.get("iss")), Some(json!("joe")));
        assert_eq!(
            as_value(claims.get("http://example.com/is_root")),
            Some(json!(true))
        );
        assert_eq!(claims.as_map().len(), 3);
        assert_eq!(
            claims.payload_json(),
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
        );
    }

    #[test]
    fn typed_accessors_read_common_claims() {
        let token = token_from(
            r#"{"alg":"RS256","typ":"JWT","kid":"key-1"}"#,
            r#"{"sub":"alice","type":"access","email":"a@example.com","scope":"read write",
                "tenant_id":17,"iat":1700000000,"nbf":1700000000.5,"exp":1700000900.25,
                "extra":{"nested":[1,null]},"nothing":null}"#,
        );
        let decoded = decode_unverified(&token).expect("decodes");
        assert_eq!(decoded.header().kid(), Some("key-1"));
        assert_eq!(decoded.header().alg(), "RS256");
        let c = decoded.claims();
        assert_eq!(c.sub().as_deref(), Some("alice"));
        assert_eq!(c.token_type(), Some("access"));
        assert_eq!(c.email(), Some("a@example.com"));
        assert_eq!(c.scope(), Some("read write"));
        assert_eq!(c.tenant_id().as_deref(), Some("17"));
        assert_eq!(c.iat(), Some(Timestamp::from_millis(1_700_000_000_000)));
        assert_eq!(c.nbf(), Some(Timestamp::from_millis(1_700_000_000_500)));
        assert_eq!(c.exp(), Some(Timestamp::from_millis(1_700_000_900_250)));
        assert_eq!(as_value(c.get("extra")), Some(json!({"nested": [1, null]})));
        assert_eq!(
            as_value(c.get("nothing")),
            Some(Value::Null),
            "null claims stay null"
        );
        assert_eq!(c.get("absent"), None);
        assert_eq!(c.as_map().len(), 10, "every claim is kept");
    }

    #[test]
    fn sub_may_be_a_number_and_junk_types_read_as_absent() {
        let c = |payload: &str| {
            decode_unverified(&token_with_payload(payload))
                .expect("decodes")
                .into_claims()
        };
        assert_eq!(c(r#"{"sub":42}"#).sub().as_deref(), Some("42"));
        assert_eq!(c(r#"{"sub":-1.5}"#).sub().as_deref(), Some("-1.5"));
        assert_eq!(c(r#"{"sub":true}"#).sub(), None);
        assert_eq!(c(r#"{"sub":["x"]}"#).sub(), None);
        assert_eq!(
            c(r#"{"type":1,"email":{},"scope":null}"#).token_type(),
            None
        );
        assert_eq!(c(r#"{"email":{}}"#).email(), None);
        assert_eq!(
            c(r#"{"tenant_id":"t-1"}"#).tenant_id().as_deref(),
            Some("t-1")
        );
        assert_eq!(c("{}").exp(), None);
    }

    #[test]
    fn payload_json_is_the_decoded_text_and_parses_to_the_same_map() {
        let payload = r#"{"name":"Zoë 山田","esc":"\u00eb\ud83d\udd11","n":1.25}"#;
        let claims = decode_unverified(&token_with_payload(payload))
            .expect("decodes")
            .into_claims();
        assert_eq!(claims.payload_json(), payload);
        assert_eq!(as_value(claims.get("name")), Some(json!("Zoë 山田")));
        assert_eq!(as_value(claims.get("esc")), Some(json!("ë🔑")));
        let reparsed: Map<String, Value> =
            serde_json::from_str(claims.payload_json()).expect("payload_json is JSON");
        assert_eq!(&as_claims(reparsed), claims.as_map());
    }

    /// One row per rule: (token, expected error).
    #[test]
    fn each_rule_has_its_own_error() {
        let good_header = b64(br#"{"alg":"HS256"}"#);
        let good_payload = b64(br#"{"sub":"a"}"#);
        let jwe = "a.b.c.d.e".to_owned();
        let rows: Vec<(String, DecodeError)> = vec![
            ("".into(), DecodeError::WrongPartCount { found: 1 }),
            ("abc".into(), DecodeError::WrongPartCount { found: 1 }),
            ("a.b".into(), DecodeError::WrongPartCount { found: 2 }),
            ("a.b.c.d".into(), DecodeError::WrongPartCount { found: 4 }),
            (jwe, DecodeError::WrongPartCount { found: 5 }),
            (
                "x".repeat(MAX_TOKEN_LEN + 1),
                DecodeError::TooLarge {
                    len: MAX_TOKEN_LEN + 1,
                    max: MAX_TOKEN_LEN,
                },
            ),
            (
                format!("{good_header}=.{good_payload}."),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Header,
                },
            ),
            (
                format!("{good_header}.{good_payload}+."),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Payload,
                },
            ),
            (
                format!("{good_header}.{good_payload}.ab/c"),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Signature,
                },
            ),
            // "QR" has non-zero trailing bits: "QQ" is the canonical form of the byte 'A'.
            (
                format!("{good_header}.{good_payload}.QR"),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Signature,
                },
            ),
            (
                format!("{good_header}.{good_payload}.A"),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Signature,
                },
            ),
            (
                format!(".{good_payload}.c2ln"),
                DecodeError::EmptyPart {
                    part: TokenPart::Header,
                },
            ),
            (
                format!("{good_header}..c2ln"),
                DecodeError::EmptyPart {
                    part: TokenPart::Payload,
                },
            ),
            (
                format!("{}.{good_payload}.", b64(&[0xff, b'{'])),
                DecodeError::NotUtf8 {
                    part: TokenPart::Header,
                },
            ),
            (
                token_from("{alg", r#"{"sub":"a"}"#),
                DecodeError::NotJson {
                    part: TokenPart::Header,
                },
            ),
            (
                token_from(r#"["HS256"]"#, r#"{"sub":"a"}"#),
                DecodeError::NotObject {
                    part: TokenPart::Header,
                },
            ),
            (token_from("{}", "{}"), DecodeError::MissingAlgorithm),
            (
                token_from(r#"{"alg":7}"#, "{}"),
                DecodeError::MissingAlgorithm,
            ),
            (
                token_from(r#"{"alg":"HS256","kid":7}"#, "{}"),
                DecodeError::InvalidHeaderField { field: Some("kid") },
            ),
            (
                token_from(r#"{"alg":"HS256","typ":["JWT"]}"#, "{}"),
                DecodeError::InvalidHeaderField { field: Some("typ") },
            ),
            (
                token_from(r#"{"alg":"HS256","cty":"text/plain"}"#, "{}"),
                DecodeError::UnsupportedContentType,
            ),
            (
                format!("{good_header}.{}.", b64(&[b'{', 0xc3, b'}'])),
                DecodeError::NotUtf8 {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload("{"),
                DecodeError::NotJson {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload(" "),
                DecodeError::NotJson {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload(r#"{"a":1} {}"#),
                DecodeError::NotJson {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload("[]"),
                DecodeError::NotObject {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload("null"),
                DecodeError::NotObject {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload("42"),
                DecodeError::NotObject {
                    part: TokenPart::Payload,
                },
            ),
            (
                token_with_payload(r#"{"exp":"1700000000"}"#),
                DecodeError::TimeNotNumeric {
                    claim: TimeClaim::Exp,
                },
            ),
            (
                token_with_payload(r#"{"exp":null}"#),
                DecodeError::TimeNotNumeric {
                    claim: TimeClaim::Exp,
                },
            ),
            (
                token_with_payload(r#"{"iat":[1]}"#),
                DecodeError::TimeNotNumeric {
                    claim: TimeClaim::Iat,
                },
            ),
            (
                token_with_payload(r#"{"nbf":{}}"#),
                DecodeError::TimeNotNumeric {
                    claim: TimeClaim::Nbf,
                },
            ),
            (
                token_with_payload(r#"{"exp":1e300}"#),
                DecodeError::TimeOutOfRange {
                    claim: TimeClaim::Exp,
                },
            ),
            (
                token_with_payload(r#"{"exp":18446744073709551615}"#),
                DecodeError::TimeOutOfRange {
                    claim: TimeClaim::Exp,
                },
            ),
            (
                token_with_payload(r#"{"iat":-9007199254741}"#),
                DecodeError::TimeOutOfRange {
                    claim: TimeClaim::Iat,
                },
            ),
        ];
        for (token, expected) in rows {
            let shown: String = token.chars().take(60).collect();
            assert_eq!(err(&token), expected, "token {shown:?}");
        }
    }

    #[test]
    fn accepts_an_empty_signature_and_the_size_limit_itself() {
        let unsecured = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(br#"{"sub":"a"}"#));
        let decoded = decode_unverified(&unsecured).expect("unsecured token decodes");
        assert_eq!(decoded.header().alg(), "none");

        // A token exactly MAX_TOKEN_LEN bytes long: the signature makes up the length, and the
        // payload is padded so that the signature's length is a valid base64url length.
        let header = b64(br#"{"alg":"HS256"}"#);
        let token = (0..4)
            .map(|pad| {
                let payload = b64(format!(r#"{{"p":"{}"}}"#, "x".repeat(pad)).as_bytes());
                let prefix = format!("{header}.{payload}.");
                let sig_len = MAX_TOKEN_LEN - prefix.len();
                (sig_len, format!("{prefix}{}", "A".repeat(sig_len)))
            })
            .find(|(sig_len, _)| sig_len % 4 != 1)
            .map(|(_, token)| token)
            .expect("one of four paddings fits");
        assert_eq!(token.len(), MAX_TOKEN_LEN);
        assert!(
            decode_unverified(&token).is_ok(),
            "a token at the limit decodes"
        );
        let over = format!("{token}AAAA");
        assert_eq!(
            err(&over),
            DecodeError::TooLarge {
                len: MAX_TOKEN_LEN + 4,
                max: MAX_TOKEN_LEN
            }
        );
    }

    #[test]
    fn messages_are_lowercase_and_never_quote_the_token() {
        let secret = "SECRETMARKER";
        let cases = [
            token_with_payload(&format!(r#"{{"exp":"{secret}"}}"#)),
            token_with_payload(&format!(r#"{{"{secret}":1,}}"#)),
            token_with_payload(&format!(r#"["{secret}"]"#)),
            token_from(&format!(r#"{{"alg":"HS256","cty":"{secret}"}}"#), "{}"),
            token_from(&format!(r#"{{"alg":"HS256","kid":["{secret}"]}}"#), "{}"),
            token_from(&format!(r#"{{"alg":"HS256","x5t":"{secret}"}}"#), "{}"),
            format!("{secret}.{secret}.{secret}"),
            format!("{secret}.{secret}"),
        ];
        for token in cases {
            let message = err(&token).to_string();
            assert!(!message.contains(secret), "{message:?} quotes the token");
            assert!(!message.contains(&token), "{message:?} quotes the token");
            assert!(message.starts_with("token "), "{message:?}");
            let first = message.chars().next().unwrap_or('X');
            assert!(first.is_lowercase(), "{message:?} starts lowercase");
        }
    }

    /// The base64url decoder is base64ct's `decode_vec` (the authority) on every input shape:
    /// all texts of up to 3 symbols over the alphabet and a few outsiders (so every trailing-bit
    /// pattern of both remainders), and longer random texts.
    #[test]
    fn base64url_is_base64ct_decode_vec() {
        let symbols: Vec<String> =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .chars()
                .map(String::from)
                .chain(["=", "+", "/", ".", " ", "é"].map(String::from))
                .collect();
        let mut texts = vec![String::new()];
        let mut last = texts.clone();
        for _ in 0..3 {
            last = last
                .iter()
                .flat_map(|text| symbols.iter().map(move |s| format!("{text}{s}")))
                .collect();
            texts.extend(last.iter().cloned());
        }
        for prefix in ["", "eyJh", "eyJhbGciOiJIUzI1NiJ9"] {
            for text in &texts {
                let text = format!("{prefix}{text}");
                assert_eq!(
                    base64url(text.as_bytes()),
                    Base64UrlUnpadded::decode_vec(&text).ok(),
                    "{text:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn base64url_is_base64ct_decode_vec_on_longer_texts(text in "[A-Za-z0-9_=+/-]{0,40}") {
            proptest::prop_assert_eq!(base64url(text.as_bytes()), Base64UrlUnpadded::decode_vec(&text).ok());
        }
    }

    /// Which header error a header with several faults gets: the order of the checks, pinned
    /// (a repeated field or a thumbprint that does not decode names the first thumbprint field
    /// present, `null` included, or no field).
    #[test]
    fn header_faults_are_reported_in_a_fixed_order() {
        let payload = b64(br#"{"sub":"a"}"#);
        let header = |json: &str| format!("{}.{payload}.c2ln", b64(json.as_bytes()));
        let field = |name: &'static str| DecodeError::InvalidHeaderField { field: Some(name) };
        let no_field = DecodeError::InvalidHeaderField { field: None };
        let rows: Vec<(String, DecodeError)> = vec![
            (
                format!(".{payload}.A"),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Signature,
                },
            ),
            (
                format!("{}=.{payload}.A", b64(br#"{"alg":"a"}"#)),
                DecodeError::InvalidBase64 {
                    part: TokenPart::Header,
                },
            ),
            (header(r#"{"typ":1}"#), DecodeError::MissingAlgorithm),
            (
                header(r#"{"alg":null,"kid":[]}"#),
                DecodeError::MissingAlgorithm,
            ),
            (header(r#"{"alg":"a","alg":"a"}"#), no_field.clone()),
            (header(r#"{"alg":1,"alg":"a"}"#), no_field.clone()),
            (header(r#"{"alg":"a","\u0061lg":"b"}"#), no_field.clone()),
            (header(r#"{"alg":"a","alg":"a","x5t":null}"#), field("x5t")),
            (
                header(r#"{"alg":"a","x5t#S256":"x","x5t#S256":"y"}"#),
                field("x5t#S256"),
            ),
            (header(r#"{"alg":"a","kid":"k","kid":7}"#), field("kid")),
            (header(r#"{"alg":"a","x5u":1,"kid":2}"#), field("kid")),
            (header(r#"{"alg":"a","x5t":"!!","typ":1}"#), field("typ")),
            (
                header(r#"{"alg":"a","x5t":null,"x5t#S256":"!!"}"#),
                field("x5t"),
            ),
            (header(r#"{"alg":"a","x5t#S256":"!!"}"#), field("x5t#S256")),
            (
                header(r#"{"alg":"a","cty":"text","x5t":"!!"}"#),
                field("x5t"),
            ),
            (header(r#"{"alg":"a","cty":"text","alg":"b"}"#), no_field),
            (header(r#"{"alg":"a","cty":5}"#), field("cty")),
            (
                header(r#"{"alg":"a","cty":"text"}"#),
                DecodeError::UnsupportedContentType,
            ),
        ];
        for (token, expected) in rows {
            assert_eq!(err(&token), expected, "token {token:?}");
        }
        for accepted in [
            r#"{"alg":"a","cty":"JSON","typ":null,"kid":null,"x5t":null}"#,
            r#"{"alg":"a","cty":"Json","typ":"JWT","kid":"k","jku":"u","x5u":"u"}"#,
        ] {
            let decoded = decode_unverified(&header(accepted)).expect("decodes");
            let header = decoded.header();
            let expected = if accepted.contains("\"typ\":null") {
                (None, None)
            } else {
                (Some("JWT"), Some("k"))
            };
            assert_eq!((header.typ(), header.kid()), expected, "{accepted}");
            assert_eq!(header.alg(), "a");
        }
    }

    #[test]
    fn header_thumbprint_that_does_not_decode_is_named() {
        // A 20-byte x5t must be base64url; "!!" is not.
        let token = token_from(
            r#"{"alg":"HS256","x5t":"!!!!!!!!!!!!!!!!!!!!!!!!!!!"}"#,
            "{}",
        );
        assert_eq!(
            err(&token),
            DecodeError::InvalidHeaderField { field: Some("x5t") }
        );
    }

    #[test]
    fn claims_from_payload_json_applies_the_same_rules() {
        let claims = Claims::from_payload_json(r#"{"exp":1700000000.001}"#.to_owned())
            .expect("valid payload");
        assert_eq!(
            claims.exp(),
            Some(Timestamp::from_millis(1_700_000_000_001))
        );
        assert_eq!(
            Claims::from_payload_json("[1]".to_owned()),
            Err(DecodeError::NotObject {
                part: TokenPart::Payload
            })
        );
        assert_eq!(
            Claims::from_payload_json(r#"{"nbf":"soon"}"#.to_owned()),
            Err(DecodeError::TimeNotNumeric {
                claim: TimeClaim::Nbf
            })
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(2_000), "]".repeat(2_000));
        assert_eq!(
            err(&token_with_payload(&deep)),
            DecodeError::NotJson {
                part: TokenPart::Payload
            }
        );
    }

    /// Claims signed by jwt-compact itself (HS256) decode to what was signed.
    #[cfg(not(target_arch = "wasm32"))]
    mod round_trip {
        use super::*;
        use jwt_compact::{
            alg::{Hs256, Hs256Key},
            AlgorithmExt, Claims as JwtClaims, Header, UntrustedToken,
        };
        use proptest::prelude::*;

        include!("../../tests/common/header_shapes.rs");

        /// The decoder's header rules are jwt-compact's (see the module docs): on every header
        /// shape of the browser suites' cases (`tests/common/header_shapes.rs`), both accept or
        /// both refuse. The one difference is `cty: "CBOR"`, which jwt-compact accepts only with
        /// its `ciborium` feature (on in these native tests, off in every build of ours).
        #[test]
        fn header_rules_match_jwt_compact() {
            let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
            // Beyond the shared shapes: unknown fields that jwt-compact's flatten buffering reads
            // as values (a lone surrogate, numbers beyond f64), and an array of three.
            let extra = [
                r#"{"alg":"HS256","x":"\ud800"}"#,
                r#"{"alg":"HS256","x":"\ud800\udc00","y":"\u00e9"}"#,
                r#"{"alg":"HS256","x":[1e400]}"#,
                r#"{"alg":"HS256","x":-1e308,"y":1e-400}"#,
                r#"["HS256", null, "JWT"]"#,
            ];
            let mut headers: Vec<Vec<u8>> = HEADER_SHAPES
                .iter()
                .chain(&extra)
                .map(|h| h.as_bytes().to_vec())
                .collect();
            for (field, len) in [
                ("x5t", 20),
                ("x5t#S256", 32),
                ("x5t", 19),
                ("x5t", 24),
                ("x5t#S256", 31),
                ("x5t#S256", 40),
            ] {
                let thumb = b64(&vec![b'a'; len]);
                headers.push(format!(r#"{{"alg":"HS256","{field}":"{thumb}"}}"#).into_bytes());
                headers.push(format!(r#"{{"alg":"HS256","{field}":"{thumb}="}}"#).into_bytes());
                headers.push(format!(r#"{{"alg":"HS256","{field}":"{thumb}=="}}"#).into_bytes());
                headers.push(format!(r#"{{"alg":"HS256","{field}":"{thumb}==="}}"#).into_bytes());
            }
            for thumb in [
                "!!!!!!!!!!!!!!!!!!!!!!!!!!!",
                "",
                "AAAA====",
                &b64(&[0xff; 25]),
                &b64(&[0xff; 20]),
            ] {
                headers.push(format!(r#"{{"alg":"HS256","x5t":"{thumb}"}}"#).into_bytes());
            }
            for bytes in [
                &b"{\"alg\":\"HS256\",\"k\":\"\xff\"}"[..],
                b"{\"alg\":\"HS256\",\"k\":\"\xc3\xa9\"}",
                b"{\"alg\":\"HS256\"}\x00",
                b"\xff",
            ] {
                headers.push(bytes.to_vec());
            }
            for depth in [100, 126, 127, 128, 200] {
                let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
                headers.push(format!(r#"{{"alg":"HS256","x":{nested}}}"#).into_bytes());
            }
            let payload = b64(br#"{"sub":"a"}"#);
            let cbor_header = br#"{"alg":"HS256","cty":"CBOR"}"#;
            for header in headers.iter().filter(|h| h.as_slice() != cbor_header) {
                for signature in ["c2ln", "", "c2l", "c2lnA"] {
                    let token = format!("{}.{payload}.{signature}", b64(header));
                    let ours = decode_unverified(&token);
                    let theirs = UntrustedToken::new(&token);
                    let shown = String::from_utf8_lossy(header);
                    assert_eq!(
                        ours.is_ok(),
                        theirs.is_ok(),
                        "{shown:?} sig {signature:?}: {ours:?}"
                    );
                }
            }
            let cbor = format!("{}.{payload}.c2ln", b64(cbor_header));
            assert_eq!(
                decode_unverified(&cbor).unwrap_err(),
                DecodeError::UnsupportedContentType
            );
        }

        fn key() -> Hs256Key {
            Hs256Key::new(b"round-trip-test-key-0123456789abcdef")
        }

        /// JSON values whose text form round-trips exactly (floats are binary fractions,
        /// integers within ±2^53: claims are read as JavaScript reads them, as f64).
        fn json_value() -> impl Strategy<Value = Value> {
            const EXACT: i64 = 1 << 53;
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-EXACT..=EXACT).prop_map(Value::from),
                (0..=EXACT as u64).prop_map(Value::from),
                (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
                any::<String>().prop_map(Value::String),
                "[a-z .:]{0,16}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(any::<String>(), inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Custom claims: any names except the time claims, which jwt-compact owns.
        fn custom_claims() -> impl Strategy<Value = Map<String, Value>> {
            prop::collection::btree_map(
                any::<String>().prop_filter("time claims are typed", |k| {
                    !matches!(k.as_str(), "exp" | "iat" | "nbf")
                }),
                json_value(),
                0..8,
            )
            .prop_map(|m| m.into_iter().collect())
        }

        proptest! {
            #[test]
            fn signed_claims_round_trip(
                custom in custom_claims(),
                exp in 0i64..4_000_000_000,
                iat in 0i64..4_000_000_000,
                kid in proptest::option::of("[A-Za-z0-9_-]{1,12}"),
            ) {
                // jwt-compact's own `Claims` parses the typed times (no chrono needed here).
                let mut claims: JwtClaims<Map<String, Value>> =
                    serde_json::from_value(json!({ "exp": exp, "iat": iat }))
                        .expect("typed times parse");
                claims.custom = custom.clone();
                let mut header = Header::empty();
                if let Some(kid) = &kid {
                    header = header.with_key_id(kid.clone());
                }
                let token = Hs256.token(&header, &claims, &key()).expect("signs");

                let decoded = decode_unverified(&token).expect("signed token decodes");
                prop_assert_eq!(decoded.header().alg(), "HS256");
                prop_assert_eq!(decoded.header().kid(), kid.as_deref());
                let c = decoded.claims();
                prop_assert_eq!(c.exp(), Some(Timestamp::from_millis(exp * 1000)));
                prop_assert_eq!(c.iat(), Some(Timestamp::from_millis(iat * 1000)));
                prop_assert_eq!(c.nbf(), None);
                let mut expected = custom;
                expected.insert("exp".into(), json!(exp));
                expected.insert("iat".into(), json!(iat));
                prop_assert_eq!(c.as_map(), &as_claims(expected.clone()));
                let reparsed: Map<String, Value> =
                    serde_json::from_str(c.payload_json()).expect("payload JSON");
                prop_assert_eq!(&reparsed, &expected);
            }

            #[test]
            fn float_exp_round_trips_to_the_millisecond(
                millis in -8_000_000_000_000i64..8_000_000_000_000,
                sub in prop_oneof![
                    any::<String>().prop_map(Value::String),
                    any::<u32>().prop_map(Value::from),
                ],
            ) {
                let seconds = millis as f64 / 1000.0;
                let mut custom = Map::new();
                custom.insert("exp".into(), json!(seconds));
                custom.insert("sub".into(), sub.clone());
                let token = Hs256
                    .token(&Header::empty(), &JwtClaims::new(custom), &key())
                    .expect("signs");
                let c = decode_unverified(&token).expect("decodes").into_claims();
                prop_assert_eq!(c.exp(), Some(Timestamp::from_millis(millis)));
                let expected_sub = match &sub {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                prop_assert_eq!(c.sub(), Some(expected_sub));
            }
        }

        #[test]
        fn jwt_compact_accepts_what_we_decode() {
            // Cross-check: the same token verifies with jwt-compact and carries our claims.
            let mut custom = Map::new();
            custom.insert("role".into(), json!("admin"));
            let token = Hs256
                .token(
                    &Header::empty().with_token_type("JWT"),
                    &JwtClaims::new(custom),
                    &key(),
                )
                .expect("signs");
            let untrusted = UntrustedToken::new(&token).expect("parses");
            let verified = Hs256
                .validator::<Map<String, Value>>(&key())
                .validate(&untrusted)
                .expect("verifies");
            let ours = decode_unverified(&token).expect("decodes");
            assert_eq!(ours.header().typ(), Some("JWT"));
            assert_eq!(
                &as_claims(verified.claims().custom.clone()),
                ours.claims().as_map()
            );
        }
    }

    /// Decoding never panics, whatever the input.
    #[cfg(not(target_arch = "wasm32"))]
    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        fn part() -> impl Strategy<Value = String> {
            prop_oneof![
                // Arbitrary bytes, properly encoded: reaches the UTF-8 and JSON rules.
                prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| b64(&b)),
                // Arbitrary JSON-ish text, encoded: reaches the object and time-claim rules.
                r#"[{}\[\]":,a-z0-9.e+-]{0,40}"#.prop_map(|s| b64(s.as_bytes())),
                // Raw text from the base64url alphabet and beyond.
                "[A-Za-z0-9_=+/-]{0,24}",
            ]
        }

        fn time_value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<f64>().prop_map(|f| f.to_string()),
                any::<i64>().prop_map(|i| i.to_string()),
                any::<u64>().prop_map(|i| i.to_string()),
                "-?[0-9]{1,30}(\\.[0-9]{0,20})?(e[+-]?[0-9]{1,4})?",
                Just("\"1\"".to_owned()),
                Just("null".to_owned()),
            ]
        }

        proptest! {
            #[test]
            fn arbitrary_strings(s in any::<String>()) {
                let _ = decode_unverified(&s);
            }

            #[test]
            fn arbitrary_bytes_as_text(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = decode_unverified(&String::from_utf8_lossy(&bytes));
            }

            #[test]
            fn dotted_strings(parts in prop::collection::vec("[A-Za-z0-9_-]{0,12}", 0..6)) {
                let _ = decode_unverified(&parts.join("."));
            }

            #[test]
            fn three_encoded_parts(h in part(), p in part(), s in part()) {
                let token = format!("{h}.{p}.{s}");
                if let Err(e) = decode_unverified(&token) {
                    // Errors render without panicking, and never quote a long part.
                    let message = e.to_string();
                    for piece in [&h, &p, &s] {
                        if piece.len() >= 12 {
                            prop_assert!(!message.contains(piece.as_str()));
                        }
                    }
                }
            }

            #[test]
            fn valid_header_arbitrary_payload_bytes(payload in prop::collection::vec(any::<u8>(), 0..128)) {
                let token = format!("{}.{}.", b64(br#"{"alg":"HS256"}"#), b64(&payload));
                let _ = decode_unverified(&token);
            }

            #[test]
            fn arbitrary_time_claims(exp in time_value(), iat in time_value(), nbf in time_value()) {
                let payload = format!(r#"{{"exp":{exp},"iat":{iat},"nbf":{nbf}}}"#);
                let result = decode_unverified(&token_with_payload(&payload));
                if let Ok(token) = result {
                    // Whatever was accepted is within the range `Timestamp` promises.
                    let limit = 9_007_199_254_740_991;
                    for t in [token.claims().exp(), token.claims().iat(), token.claims().nbf()] {
                        let t = t.map(Timestamp::as_millis);
                        prop_assert!(t.is_some_and(|ms| ms.abs() <= limit));
                    }
                }
            }
        }
    }
}
