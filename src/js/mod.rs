//! The `#[wasm_bindgen]` facade: converts between JS and Rust types and owns no logic.

mod client;
mod error;

use wasm_bindgen::prelude::*;

use crate::logic::token::decode_unverified;
use error::{auth_error, to_js};

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
/// when the token is malformed: not three parts, bad base64url, not UTF-8, not a JSON object,
/// or over the size cap. The message says which rule failed and never repeats the token.
#[wasm_bindgen(js_name = decodeClaims, unchecked_return_type = "Record<string, unknown>")]
pub fn decode_claims(token: &str) -> Result<JsValue, JsValue> {
    let decoded = decode_unverified(token).map_err(|e| to_js(e.into()))?;
    // The payload was validated as a JSON object in Rust; JSON.parse builds the JS object far
    // faster than converting a serde value field by field across the boundary.
    js_sys::JSON::parse(decoded.claims().payload_json())
        .map_err(|_| auth_error("invalid_token", "payload is not valid JSON", None))
}
