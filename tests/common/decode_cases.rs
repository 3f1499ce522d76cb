//! Token cases for the decoding conformance tests: the JavaScript fast path of `decodeClaims`
//! (`src/js/decode.js`) must never accept a token that the Rust decoder (`decode_unverified`)
//! refuses, must return the same claims when it accepts, and must accept the common tokens
//! (otherwise the speed it exists for is lost).
//!
//! Included with `#[path]` by tests/browser.rs (Chromium and Firefox: the payload is decoded by
//! `Uint8Array.prototype.setFromBase64` when long), tests/node.rs (Node 20 has no
//! `setFromBase64`: everything is decoded in JavaScript) and the wasm unit tests in
//! src/js/decode_tests.rs (the `decodeClaims` export itself, errors included).
#![allow(dead_code)]

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

include!("header_shapes.rs");
include!("payload_texts.rs");

#[wasm_bindgen(module = "/src/js/decode.js")]
extern "C" {
    /// The fast path under test: the claims, or `undefined` when Rust must decide.
    #[wasm_bindgen(js_name = decodeClaimsFast)]
    pub fn fast_path(token: &JsValue) -> JsValue;
}

/// One token to decode both ways.
pub struct Case {
    /// What the case is, for failure messages.
    pub label: String,
    /// The token (any string: most cases are malformed).
    pub token: String,
    /// A common, well-formed token: the fast path must accept it.
    pub common: bool,
}

/// The longest token accepted (`tokenkeeper::MAX_TOKEN_LEN`).
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// A token from raw header and payload text and a raw (already encoded) signature.
pub fn token(header: &str, payload: &str, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.as_bytes()),
        b64(payload.as_bytes())
    )
}

const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// A base64url HS256-sized signature (32 bytes).
const SIG: &str = "zxXcrc2big4JmdaKh-yP8NlepHCGf_qTKg-kBwMCpj8";

fn case(label: impl Into<String>, token: String) -> Case {
    Case {
        label: label.into(),
        token,
        common: false,
    }
}

fn common(label: impl Into<String>, token: String) -> Case {
    Case {
        label: label.into(),
        token,
        common: true,
    }
}

/// Every case: common tokens, edge cases of each rule, and deterministic mutations.
pub fn all() -> Vec<Case> {
    let mut cases = common_tokens();
    cases.extend(rule_cases());
    cases.extend(header_cases());
    cases.extend(payload_cases());
    cases.extend(base64_cases());
    cases.extend(mutations(0x5eed_1234_abcd_0001, 1500));
    cases.extend(generated_json(0x5eed_1234_abcd_0002, 1500));
    cases
}

/// Tokens as issuers make them: the interop fixtures (PyJWT, python-jose, jose; HS256, RS256,
/// ES256), the benchmark's shapes, and payloads on each side of the fast path's size switches.
pub fn common_tokens() -> Vec<Case> {
    let fixtures = [
        include_str!("../fixtures/interop/jose-es256-permissions-float-times.json"),
        include_str!("../fixtures/interop/jose-minimal-refresh.json"),
        include_str!("../fixtures/interop/jose-rs256-nested-roles-non-ascii.json"),
        include_str!("../fixtures/interop/jose-standard-access.json"),
        include_str!("../fixtures/interop/jose-v1-float-exp.json"),
        include_str!("../fixtures/interop/pyjwt-es256-permissions-float-times.json"),
        include_str!("../fixtures/interop/pyjwt-minimal-refresh.json"),
        include_str!("../fixtures/interop/pyjwt-rs256-nested-roles-non-ascii.json"),
        include_str!("../fixtures/interop/pyjwt-standard-access.json"),
        include_str!("../fixtures/interop/pyjwt-v1-float-exp.json"),
        include_str!("../fixtures/interop/python-jose-es256-permissions-float-times.json"),
        include_str!("../fixtures/interop/python-jose-minimal-refresh.json"),
        include_str!("../fixtures/interop/python-jose-rs256-nested-roles-non-ascii.json"),
        include_str!("../fixtures/interop/python-jose-standard-access.json"),
        include_str!("../fixtures/interop/python-jose-v1-float-exp.json"),
    ];
    let mut cases: Vec<Case> = fixtures
        .iter()
        .map(|text| {
            let fixture: Value = serde_json::from_str(text).expect("fixture JSON");
            let name = format!("fixture {} ({})", fixture["case"], fixture["generator"]);
            common(name, fixture["token"].as_str().expect("token").to_owned())
        })
        .collect();

    // RFC 7519 §3.1: CRLF and spaces inside the header and payload JSON.
    cases.push(common(
        "RFC 7519 example",
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
         eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
         dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
            .to_owned(),
    ));
    let now = 1_795_357_531_u64;
    let minimal = json!({ "sub": "42", "exp": now + 900, "iat": now });
    let server = json!({
        "exp": now + 900, "iat": now, "sub": "2", "jti": "57f7ed94fd1c3282d75b087ce9e002ea",
        "type": "access", "role": "user", "email": "user@example.com",
        "sid": "c38f0d7713216b703f4de11de717e0ad",
    });
    let keycloak = json!({
        "exp": now + 300, "iat": now, "auth_time": now - 10,
        "iss": "https://id.example.com/realms/demo", "aud": ["account", "api"],
        "sub": "f3b2c1d0-aaaa-bbbb-cccc-0123456789ab", "typ": "Bearer",
        "realm_access": { "roles": ["offline_access", "uma_authorization", "admin"] },
        "resource_access": { "account": { "roles": ["manage-account", "view-profile"] } },
        "scope": "openid email profile", "email_verified": true,
        "name": "Zoë Müller-Łukasiewicz",
    });
    let large = json!({
        "sub": "user-1234567890", "exp": now as f64 + 3600.5, "iat": now, "nbf": now - 1,
        "roles": (0..40).map(|i| format!("role:{i}:read")).collect::<Vec<_>>(),
        "permissions": (0..40)
            .map(|i| json!({ "resource": format!("res-{i}"), "actions": ["read", "write"] }))
            .collect::<Vec<_>>(),
        "profile": { "bio": "ü".repeat(200), "tags": ["a", "b", "c"],
                     "nested": { "deep": { "deeper": [1, 2.5, null, true] } } },
    });
    for (name, claims) in [
        ("minimal", minimal),
        ("companion server", server),
        ("Keycloak-like", keycloak),
        ("large", large),
    ] {
        cases.push(common(name, token(HS256, &claims.to_string(), SIG)));
    }
    cases.push(common(
        "alg none, empty signature",
        token(r#"{"alg":"none"}"#, r#"{"sub":"a"}"#, ""),
    ));
    cases.push(common(
        "RS256-sized signature",
        token(
            r#"{"alg":"RS256","typ":"JWT","kid":"key-2024-01"}"#,
            r#"{"sub":"a","exp":1700000000}"#,
            &b64(&[7; 256]),
        ),
    ));
    cases.push(common(
        "Python ensure_ascii escapes (\\u00eb), paired surrogates",
        token(
            HS256,
            r#"{"name":"Zo\u00eb","key":"\ud83d\udd11","exp":1700000000}"#,
            SIG,
        ),
    ));

    // Payloads around the switch from the JavaScript decoder to `setFromBase64` (192
    // characters) and from `String.fromCharCode` to `TextDecoder` (64 bytes), ASCII or not.
    for filler in ["x", "é"] {
        for target in (58..=70).chain(138..=150) {
            let mut payload = String::from(r#"{"exp":1700000000,"p":""#);
            while payload.len() + 2 < target {
                payload.push_str(filler);
            }
            payload.push_str("\"}");
            let label = format!("payload of {} bytes ({filler})", payload.len());
            cases.push(common(label, token(HS256, &payload, SIG)));
        }
    }
    cases
}

/// One case per rule of the decoder, as in src/logic/token.rs's own tests.
pub fn rule_cases() -> Vec<Case> {
    let good_header = b64(br#"{"alg":"HS256"}"#);
    let good_payload = b64(br#"{"sub":"a"}"#);
    let mut cases = vec![
        case("empty string", String::new()),
        case("one part", "abc".into()),
        case("two parts", "a.b".into()),
        case("four parts", "a.b.c.d".into()),
        case("JWE (five parts)", "a.b.c.d.e".into()),
        case("only dots", "..".into()),
        case("three dots", "...".into()),
        case("over the size limit", "x".repeat(MAX_TOKEN_LEN + 1)),
        case("empty header", format!(".{good_payload}.c2ln")),
        case("empty payload", format!("{good_header}..c2ln")),
        case(
            "trailing dot",
            format!("{good_header}.{good_payload}.c2ln."),
        ),
        case("leading dot", format!(".{good_header}.{good_payload}.")),
    ];
    // A token exactly at the limit, and one byte over: the signature makes up the length.
    for pad in 0..4 {
        let payload = b64(format!(r#"{{"p":"{}"}}"#, "x".repeat(pad)).as_bytes());
        let prefix = format!("{good_header}.{payload}.");
        let sig_len = MAX_TOKEN_LEN - prefix.len();
        if sig_len % 4 != 1 {
            let token = format!("{prefix}{}", "A".repeat(sig_len));
            cases.push(common("at the size limit", token.clone()));
            cases.push(case("over the size limit by 4", format!("{token}AAAA")));
            break;
        }
    }
    // A payload of ~12 KB: the largest that fits, decoded natively or in JavaScript.
    let big = format!(r#"{{"exp":1,"p":"{}"}}"#, "y".repeat(12_000));
    cases.push(common(
        "12 KB payload",
        token(r#"{"alg":"HS256"}"#, &big, ""),
    ));
    let big = format!(r#"{{"exp":1,"p":"{}"}}"#, "ÿ".repeat(6_000));
    cases.push(common(
        "12 KB non-ASCII payload",
        token(r#"{"alg":"HS256"}"#, &big, ""),
    ));
    cases
}

/// Header shapes: what the Rust decoder accepts, refuses, and what the fast path leaves to it.
pub fn header_cases() -> Vec<Case> {
    let headers = HEADER_SHAPES;
    let mut cases: Vec<Case> = headers
        .iter()
        .map(|h| case(format!("header {h:?}"), token(h, r#"{"sub":"a"}"#, SIG)))
        .collect();
    // X.509 thumbprints: jwt-compact decodes them (20 and 32 bytes, or a longer UTF-8 string).
    for (field, len) in [("x5t", 20), ("x5t#S256", 32), ("x5t", 19), ("x5t", 24)] {
        let thumb = b64(&vec![b'a'; len]);
        let header = format!(r#"{{"alg":"HS256","{field}":"{thumb}"}}"#);
        cases.push(case(
            format!("{field} of {len} bytes"),
            token(&header, "{}", SIG),
        ));
    }
    for thumb in [
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        "",
        "AAAA====",
        &b64(&[0xff; 25]),
    ] {
        let header = format!(r#"{{"alg":"HS256","x5t":"{thumb}"}}"#);
        cases.push(case(format!("x5t {thumb:?}"), token(&header, "{}", SIG)));
    }
    // Not UTF-8, or UTF-8 that is not ASCII.
    for bytes in [
        &b"{\"alg\":\"HS256\",\"k\":\"\xff\"}"[..],
        b"{\"alg\":\"HS256\",\"k\":\"\xc3\xa9\"}",
        b"{\"alg\":\"HS256\",\"k\":\"\xc0\xaf\"}",
        b"{\"alg\":\"HS256\"}\x00",
        b"\xff",
    ] {
        let t = format!("{}.{}.{SIG}", b64(bytes), b64(br#"{"sub":"a"}"#));
        cases.push(case(format!("header bytes {bytes:?}"), t));
    }
    cases
}

/// Payload shapes: JSON that serde_json and `JSON.parse` read differently, the time claims,
/// and text that is not a JSON object.
pub fn payload_cases() -> Vec<Case> {
    let mut payloads: Vec<String> = PAYLOAD_TEXTS.iter().map(|s| (*s).to_owned()).collect();
    for claim in ["exp", "iat", "nbf"] {
        for value in TIME_CLAIM_VALUES {
            payloads.push(format!(r#"{{"sub":"a","{claim}":{value}}}"#));
        }
    }
    for depth in [1, 50, 99, 100, 101, 102, 126, 127, 128, 129, 300] {
        let arrays = format!(
            r#"{{"a":{}1{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        );
        let objects = format!(
            r#"{{"a":{}1{}}}"#,
            r#"{"b":"#.repeat(depth - 1),
            "}".repeat(depth - 1)
        );
        payloads.push(arrays);
        payloads.push(objects);
    }
    let mut cases: Vec<Case> = payloads
        .iter()
        .map(|p| {
            let shown: String = p.chars().take(48).collect();
            case(format!("payload {shown:?}"), token(HS256, p, SIG))
        })
        .collect();
    // Payload bytes that are not UTF-8: lone continuation, overlong, surrogate, truncated,
    // beyond U+10FFFF; short ones go through the JavaScript decoder, long ones natively.
    for bad in [
        &b"\xff"[..],
        b"\x80",
        b"\xc0\xaf",
        b"\xe0\x80\xaf",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xe2\x82",
        b"\xef\xbb\xbf",
    ] {
        for pad in [0, 300] {
            let mut bytes = format!(r#"{{"p":"{}"#, "x".repeat(pad)).into_bytes();
            bytes.extend_from_slice(bad);
            bytes.extend_from_slice(b"\"}");
            let t = format!("{}.{}.{SIG}", b64(HS256.as_bytes()), b64(&bytes));
            cases.push(case(format!("payload bytes {bad:?} after {pad}"), t));
        }
    }
    cases
}

/// A named change to one part of a token.
type Edit = fn(&str) -> String;

/// Base64url that is not canonical and unpadded, in each part, short and long.
pub fn base64_cases() -> Vec<Case> {
    let header = b64(HS256.as_bytes());
    let short = b64(br#"{"sub":"a","exp":1}"#);
    let long = b64(format!(r#"{{"sub":"a","p":"{}"}}"#, "z".repeat(400)).as_bytes());
    let mut cases = Vec::new();
    for (which, payload) in [("short", &short), ("long", &long)] {
        let parts = [header.as_str(), payload.as_str(), SIG];
        for part in 0..3 {
            let edits: [(&str, Edit); 14] = [
                ("padding =", |p| format!("{p}=")),
                ("padding ==", |p| format!("{p}==")),
                ("= inside", |p| format!("{}={}", &p[..4], &p[4..])),
                ("space inside", |p| format!("{} {}", &p[..4], &p[4..])),
                ("newline inside", |p| format!("{}\n{}", &p[..4], &p[4..])),
                ("tab at end", |p| format!("{p}\t")),
                ("plus", |p| format!("{}+{}", &p[..4], &p[5..])),
                ("slash", |p| format!("{}/{}", &p[..4], &p[5..])),
                ("percent", |p| format!("{}%{}", &p[..4], &p[5..])),
                ("non-ASCII", |p| format!("{}é{}", &p[..4], &p[5..])),
                ("one char more", |p| format!("{p}A")),
                ("one char less", |p| p[..p.len() - 1].to_owned()),
                ("two chars less", |p| p[..p.len() - 2].to_owned()),
                ("last char +1", |p| {
                    let mut s = p.to_owned();
                    let last = s.pop().unwrap_or('A');
                    let next = match last {
                        'Z' => 'a',
                        'z' => '0',
                        '9' => '-',
                        '-' => '_',
                        '_' => 'A',
                        c => char::from(c as u8 + 1),
                    };
                    s.push(next);
                    s
                }),
            ];
            for (name, edit) in edits {
                let mut edited = parts.map(str::to_owned);
                edited[part] = edit(parts[part]);
                let label = format!("{which} token, part {part}: {name}");
                cases.push(case(label, edited.join(".")));
            }
        }
    }
    // Non-canonical trailing bits, for both lengths with a partial group: "QR" and "QUG" decode
    // like "QQ" and "QUE" but are not their canonical form.
    for payload in [
        "eyJhIjoxfQ",
        "eyJhIjoxfR",
        "eyJhIjoxMH0",
        "eyJhIjoxMH1",
        "eyJhIjoxMH2",
    ] {
        cases.push(case(
            format!("payload {payload}"),
            format!("{header}.{payload}.{SIG}"),
        ));
    }
    for sig in ["QQ", "QR", "QUE", "QUF", "QUFB", "Q", ""] {
        cases.push(case(
            format!("signature {sig:?}"),
            format!("{header}.{short}.{sig}"),
        ));
    }
    cases
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    /// One of `items`.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// Random edits of common tokens: to the token text itself, and to the decoded header or
/// payload text (re-encoded, so that the JSON rules are reached).
pub fn mutations(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let bases: Vec<String> = common_tokens()
        .into_iter()
        .filter(|c| c.token.len() < 2_000)
        .map(|c| c.token)
        .collect();
    let token_chars = [
        "A", "Q", "g", "w", "0", "9", "-", "_", "=", "+", "/", ".", " ", "\n", "%", "é", "\0",
    ];
    let json_bits = [
        "{", "}", "[", "]", "\"", ":", ",", " ", "0", "1", "-", ".", "e", "E", "+", "\\", "\\u",
        "d800", "null", "true", "\"exp\":", "\"alg\":", "\"typ\":", "\"cty\":", "é", "\u{feff}",
        "1e400",
    ];
    let mut cases = Vec::with_capacity(count);
    for n in 0..count {
        let base = &bases[rng.below(bases.len())];
        let mutated = if n % 2 == 0 {
            // Insert, delete or replace one character of the token.
            let chars: Vec<char> = base.chars().collect();
            let at = rng.below(chars.len());
            let (insert, skip) = match rng.below(3) {
                0 => (rng.pick(&token_chars), 0),
                1 => ("", 1),
                _ => (rng.pick(&token_chars), 1),
            };
            let mut out: String = chars[..at].iter().collect();
            out.push_str(insert);
            out.extend(&chars[at + skip..]);
            out
        } else {
            let mut parts: Vec<String> = base.split('.').map(str::to_owned).collect();
            let part = rng.below(2);
            let Ok(bytes) = Base64UrlUnpadded::decode_vec(&parts[part]) else {
                continue;
            };
            let mut text = String::from_utf8_lossy(&bytes).into_owned();
            for _ in 0..=rng.below(3) {
                let boundaries: Vec<usize> = (0..=text.len())
                    .filter(|&i| text.is_char_boundary(i))
                    .collect();
                let at = boundaries[rng.below(boundaries.len())];
                let bit = rng.pick(&json_bits);
                if rng.below(2) == 0 {
                    text.insert_str(at, bit);
                } else {
                    let end = boundaries.iter().copied().find(|&b| b > at).unwrap_or(at);
                    text.replace_range(at..end, bit);
                }
            }
            parts[part] = b64(text.as_bytes());
            parts.join(".")
        };
        cases.push(case(format!("mutation {n}"), mutated));
    }
    cases
}

/// Random JSON values (often valid, sometimes barely) as payloads, and random headers.
pub fn generated_json(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::with_capacity(count);
    for n in 0..count {
        let (header, payload) = if n % 4 == 3 {
            (random_header(&mut rng), r#"{"sub":"a"}"#.to_owned())
        } else {
            let mut payload = String::from("{");
            for k in 0..rng.below(5) {
                if k > 0 {
                    payload.push(',');
                }
                let key = rng.pick(&["exp", "iat", "nbf", "sub", "a", "__proto__", ""]);
                payload.push_str(&format!("\"{key}\":"));
                random_value(&mut rng, &mut payload, 3);
            }
            payload.push('}');
            (HS256.to_owned(), payload)
        };
        let t = token(&header, &payload, SIG);
        cases.push(case(format!("generated {n}: {header} {payload}"), t));
    }
    cases
}

fn random_value(rng: &mut Rng, out: &mut String, depth: usize) {
    match rng.below(if depth == 0 { 3 } else { 5 }) {
        0 => out.push_str(rng.pick(&[
            "null",
            "true",
            "false",
            "0",
            "-0",
            "1",
            "-1.5",
            "1e3",
            "1E+2",
            "1e-400",
            "1e400",
            "-1e309",
            "1.7976931348623157e308",
            "9007199254740993",
            "1700000000.25",
            "123456789012345678901234567890",
            "9e12",
            "9.1e12",
        ])),
        1 | 2 => {
            out.push('"');
            for _ in 0..rng.below(4) {
                out.push_str(rng.pick(&[
                    "a",
                    "é",
                    "山",
                    "\\n",
                    "\\u00e9",
                    "\\ud83d\\ude00",
                    "\\ud800",
                    "\\udc00",
                    "\\\\",
                    "\\\"",
                    "\\/",
                    " ",
                ]));
            }
            out.push('"');
        }
        3 => {
            out.push('[');
            for k in 0..rng.below(4) {
                if k > 0 {
                    out.push(',');
                }
                random_value(rng, out, depth - 1);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for k in 0..rng.below(4) {
                if k > 0 {
                    out.push(',');
                }
                let key = rng.pick(&["x", "exp", "y"]);
                out.push_str(&format!("\"{key}\":"));
                random_value(rng, out, depth - 1);
            }
            out.push('}');
        }
    }
}

fn random_header(rng: &mut Rng) -> String {
    let mut header = String::from("{");
    for k in 0..rng.below(4) + 1 {
        if k > 0 {
            header.push_str(rng.pick(&[",", " , ", ",\r\n"]));
        }
        let key = rng.pick(&[
            "alg", "alg", "typ", "kid", "jku", "x5u", "cty", "x5t", "x5t#S256", "crit", "foo",
        ]);
        header.push_str(&format!("\"{key}\":"));
        let value = rng.pick(&[
            "\"HS256\"",
            "\"JWT\"",
            "\"json\"",
            "\"JSON\"",
            "\"jwt\"",
            "null",
            "7",
            "-1.5",
            "1e2",
            "true",
            "[\"exp\"]",
            "{}",
            "\"a\\\"b\"",
            "\"é\"",
            "\"\\u0041\"",
            "\"YWFhYWFhYWFhYWFhYWFhYWFhYWE\"",
            "\"!!\"",
        ]);
        header.push_str(value);
    }
    header.push('}');
    header
}

/// What the Rust decoder makes of a token: the payload JSON text, or its error message.
pub type RustVerdict = Result<String, String>;

/// The one documented difference (src/js/decode.js): a payload that repeats a key, where the
/// value that `JSON.parse` drops (the last one wins, as RFC 7519 §4 allows) holds a number
/// beyond the f64 range or nests deeper than serde_json's 128 levels. serde_json refuses the
/// whole payload; the fast path returns the claims. Checks that this is what happened: Rust
/// refused the payload as JSON, the payload repeats a key, and Rust accepts the same claims
/// once the repeats are gone.
pub fn is_duplicate_key_divergence(
    token: &str,
    rust_error: &str,
    claims: &JsValue,
    rust: &impl Fn(&str) -> RustVerdict,
) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(text) = Base64UrlUnpadded::decode_vec(payload)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return false;
    };
    let deduplicated = format!("{header}.{}.{signature}", b64(stringify(claims).as_bytes()));
    rust_error == "token payload is not valid JSON"
        && has_repeated_key(&text)
        && rust(&deduplicated).is_ok_and(|json| {
            js_sys::JSON::parse(&json).is_ok_and(|value| stringify(&value) == stringify(claims))
        })
}

/// Whether some object in the JSON `text` (well-formed for `JSON.parse`) repeats a key.
fn has_repeated_key(text: &str) -> bool {
    // One entry per open object (its keys so far) or array (None).
    let mut open: Vec<Option<Vec<String>>> = Vec::new();
    let mut expect_key = false;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '{' => {
                open.push(Some(Vec::new()));
                expect_key = true;
            }
            '[' => {
                open.push(None);
                expect_key = false;
            }
            '}' | ']' => {
                open.pop();
                expect_key = false;
            }
            ',' => expect_key = matches!(open.last(), Some(Some(_))),
            '"' => {
                let mut end = start + 1;
                while let Some((i, c)) = chars.next() {
                    end = i;
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                if expect_key {
                    // Keys compared as JSON.parse reads them (escapes resolved).
                    let key = js_sys::JSON::parse(&text[start..=end])
                        .ok()
                        .and_then(|k| k.as_string())
                        .unwrap_or_default();
                    if let Some(Some(keys)) = open.last_mut() {
                        if keys.contains(&key) {
                            return true;
                        }
                        keys.push(key);
                    }
                    expect_key = false;
                }
            }
            _ => {}
        }
    }
    false
}

/// Runs every case through the fast path and through `rust`, and panics on the first case
/// where the fast path accepts what Rust refuses (but for [`is_duplicate_key_divergence`]),
/// returns other claims, or declines a common token; then checks that the set exercised both
/// paths: most cases are malformed, and the fast path takes most of the well-formed ones.
pub fn assert_fast_path_agrees(rust: impl Fn(&str) -> RustVerdict) {
    let cases = all();
    let (mut fast_ok, mut rust_ok, mut divergent) = (0, 0, 0);
    for c in &cases {
        let verdict = rust(&c.token);
        let fast = fast_path(&JsValue::from_str(&c.token));
        rust_ok += usize::from(verdict.is_ok());
        if fast.is_undefined() {
            assert!(
                !c.common,
                "{}: the fast path declined a common token",
                c.label
            );
            continue;
        }
        fast_ok += 1;
        let payload = match verdict {
            Ok(payload) => payload,
            Err(e) if is_duplicate_key_divergence(&c.token, &e, &fast, &rust) => {
                divergent += 1;
                continue;
            }
            Err(e) => panic!(
                "{}: the fast path accepted a token that Rust refuses ({e}): {:?}",
                c.label, c.token
            ),
        };
        let expected = js_sys::JSON::parse(&payload).expect("Rust's payload is JSON");
        assert_eq!(
            stringify(&fast),
            stringify(&expected),
            "{}: the fast path returned other claims",
            c.label
        );
    }
    let counts = format!(
        "{} cases: Rust accepts {rust_ok}, the fast path {fast_ok} ({divergent} with a repeated key)",
        cases.len()
    );
    assert!(
        rust_ok >= 300 && fast_ok >= rust_ok * 3 / 4 && divergent >= 2,
        "{counts}"
    );
}

/// `JSON.stringify(value)`.
pub fn stringify(value: &JsValue) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}
