//! The `#[wasm_bindgen]` facade: converts between JS and Rust types and owns no logic, except
//! `decode.js`, the JavaScript fast path of `decodeClaims`, which accepts only what
//! [`decode_unverified`] accepts, with one corner documented there (the wasm test suites check
//! the two against each other case by case).
//!
//! The npm package's `AuthClient` is JavaScript (`src/js/driver/`): it does the I/O and asks
//! [`core::Core`], the session machine behind a small class, what to do. Its TypeScript
//! declarations are written here ([`types`]).

pub(crate) mod core;
#[cfg(all(test, target_arch = "wasm32"))]
mod decode_tests;
mod error;
mod options;
mod types;
mod values;

use wasm_bindgen::prelude::*;

use crate::logic::token::decode_unverified;
use error::{auth_error, to_js};

#[wasm_bindgen(module = "/src/js/decode.js")]
extern "C" {
    /// The JavaScript fast path of [`decode_claims`]: the claims of a common, well-formed token,
    /// or `undefined` when the Rust decoder must decide. Never throws.
    #[wasm_bindgen(js_name = decodeClaimsFast)]
    fn decode_claims_fast(token: &JsValue) -> JsValue;
}

#[wasm_bindgen(typescript_custom_section)]
const TS_ERRORS: &'static str = r#"
/** The stable code of an {@link AuthError}; apps branch on it. */
export type AuthErrorCode =
  | "invalid_credentials" | "account_disabled" | "not_authenticated" | "token_expired"
  | "token_revoked" | "invalid_token" | "refresh_failed" | "forbidden" | "rate_limited"
  | "network" | "server" | "protocol" | "storage" | "config";

/** Every rejection and throw of tokenkeeper. Messages never contain a token. */
export class AuthError extends Error {
  name: "AuthError";
  /** What went wrong, as a stable code. */
  code: AuthErrorCode;
  /** The HTTP status, when a response was received. */
  status?: number;
}
"#;

/// The version of the tokenkeeper package, e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Decodes a JWT's claims **without checking its signature** (the client never holds the key,
/// so claims read here are for display and UI decisions; the server decides access).
///
/// Returns the whole payload as a plain object: `exp`, `iat` and `nbf` stay numbers (integer or
/// float), other claims keep their JSON types. Throws an `AuthError` with code `invalid_token`
/// when the token is malformed: not a string, not three parts, bad base64url, not UTF-8, not a
/// JSON object, or over the size cap. The message says which rule failed and never repeats the
/// token.
#[wasm_bindgen(js_name = decodeClaims, unchecked_return_type = "Record<string, unknown>")]
pub fn decode_claims(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
) -> Result<JsValue, JsValue> {
    // The rules are those of `decode_unverified`. A common token is decoded by the JavaScript
    // fast path (decode.js: the engine's base64 and UTF-8 decoders and JSON.parse, no copy into
    // wasm memory, about 5x quicker), which returns claims only when the Rust decoder would return
    // the same; every other token, and every malformed one, is decoded in Rust, which also
    // writes the error.
    //
    // A `Result`, not `wasm_bindgen::throw_val`: although it costs the call a little (the glue
    // takes the value out of the externref table), a JS exception thrown through wasm frames
    // never restores the shadow stack pointer, and a few hundred thousand malformed tokens
    // then crash the module (measured: "memory access out of bounds").
    let claims = decode_claims_fast(&token);
    if claims.is_undefined() {
        decode_claims_slow(token)
    } else {
        Ok(claims)
    }
}

/// The Rust path of [`decode_claims`]: the verdict on every token the fast path declined.
fn decode_claims_slow(token: JsValue) -> Result<JsValue, JsValue> {
    let Some(token) = token.as_string() else {
        return Err(auth_error("invalid_token", "token must be a string", None));
    };
    let decoded = decode_unverified(&token).map_err(|e| to_js(e.into()))?;
    // The payload was validated as a JSON object in Rust; JSON.parse builds the JS object far
    // faster than converting a serde value field by field across the boundary.
    js_sys::JSON::parse(decoded.claims().payload_json())
        .map_err(|_| auth_error("invalid_token", "payload is not valid JSON", None))
}
