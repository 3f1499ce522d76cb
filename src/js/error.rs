//! Converts Rust errors into the JS `AuthError` class (`name`, `code`, `status`).
//!
//! `wasm_bindgen::JsError` would keep only the message; apps branch on `code`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/js/auth_error.js")]
extern "C" {
    /// The JS `AuthError` class (defined in `auth_error.js`, re-exported by the package).
    #[wasm_bindgen(extends = js_sys::Error)]
    pub type AuthError;

    #[wasm_bindgen(constructor)]
    fn new(code: &str, message: &str, status: Option<u16>) -> AuthError;
}

/// Builds a JS `AuthError` with a stable `code`, a message that never contains a token, and the
/// HTTP `status` when a response was received.
pub fn auth_error(code: &str, message: &str, status: Option<u16>) -> JsValue {
    AuthError::new(code, message, status).into()
}

/// Converts a core error into the JS `AuthError` (message and status included, never a token).
pub fn to_js(error: crate::logic::error::AuthError) -> JsValue {
    auth_error(error.code().as_str(), &error.full_message(), error.status())
}
