//! The core's values as the plain JS objects of the package's contract (`Session`, claims,
//! `Diagnostics`), and the role-name arguments the other way. Built with `Reflect` on fresh
//! objects: serde-wasm-bindgen would write `Map`s and cost more code.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::logic::error::{fill, AuthError};
use crate::logic::session::{Diagnostics, Phase, Session};
use crate::logic::time::Timestamp;
use crate::logic::token::Claims;

use super::error::to_js;

/// The contract's `Session` object: `{accessToken, refreshToken, expiresAt, claims}`.
pub(crate) fn session_to_js(session: &Session) -> JsValue {
    let object = js_sys::Object::new();
    set(&object, "accessToken", session.access_token().into());
    set(
        &object,
        "refreshToken",
        session
            .refresh_token()
            .map(JsValue::from)
            .unwrap_or(JsValue::NULL),
    );
    set(&object, "expiresAt", millis(session.stated_expires_at()));
    set(&object, "claims", claims_to_js(session.claims()));
    object.into()
}

/// A session or `null`.
pub(crate) fn optional_session(session: Option<&Session>) -> JsValue {
    session.map(session_to_js).unwrap_or(JsValue::NULL)
}

/// Claims as a plain object: the payload was validated as a JSON object when decoded, and
/// `JSON.parse` builds it faster than a field-by-field conversion.
pub(crate) fn claims_to_js(claims: &Claims) -> JsValue {
    js_sys::JSON::parse(claims.payload_json()).unwrap_or_else(|_| js_sys::Object::new().into())
}

/// The `getDiagnostics()` object.
pub(crate) fn diagnostics_to_js(d: &Diagnostics) -> JsValue {
    let phase = match d.phase {
        Phase::SignedOut => "signed_out",
        Phase::SignedIn => "signed_in",
        Phase::Refreshing => "refreshing",
        Phase::Expired => "expired",
    };
    let last_error = d.last_error.as_ref().map(|error| {
        let object = js_sys::Object::new();
        set(&object, "code", error.code().as_str().into());
        set(&object, "message", error.full_message().into());
        set(
            &object,
            "status",
            optional_number(error.status().map(f64::from)),
        );
        JsValue::from(object)
    });
    let object = js_sys::Object::new();
    set(&object, "phase", phase.into());
    set(&object, "expiresAt", millis(d.expires_at));
    set(&object, "nextRefreshAt", millis(d.next_refresh_at));
    set(&object, "lastError", last_error.unwrap_or(JsValue::NULL));
    set(
        &object,
        "clockOffsetMs",
        (d.clock_offset.as_millis() as f64).into(),
    );
    set(&object, "clockOffsetSource", d.clock_source.as_str().into());
    set(&object, "refreshCount", (d.refresh_count as f64).into());
    set(
        &object,
        "consecutiveFailures",
        d.consecutive_failures.into(),
    );
    set(&object, "retryNotBefore", millis(d.retry_not_before));
    object.into()
}

/// The role names of `hasAnyRole(roles)` or `hasAllRoles(roles)`: an array of strings, or a
/// `config` AuthError naming `method` (wasm-bindgen's own `Vec<String>` conversion throws a plain
/// `Error` for `[1, 2]`, and answers `false` for a lone string instead of refusing it).
pub(crate) fn role_names(roles: &JsValue, method: &str) -> Result<Vec<String>, JsValue> {
    // A loop, not an iterator chain collected into `Option<Vec<_>>`: less code.
    if js_sys::Array::is_array(roles) {
        let roles: &js_sys::Array = roles.unchecked_ref();
        let mut names = Vec::new();
        for index in 0..roles.length() {
            match roles.get(index).as_string() {
                Some(name) => names.push(name),
                None => return Err(not_role_names(method)),
            }
        }
        return Ok(names);
    }
    Err(not_role_names(method))
}

/// The error of [`role_names`].
fn not_role_names(method: &str) -> JsValue {
    to_js(AuthError::config(fill(
        "{}() needs an array of role names (strings)",
        &[method],
    )))
}

/// An instant as milliseconds since the epoch, or `null`.
pub(crate) fn millis(at: Option<Timestamp>) -> JsValue {
    optional_number(at.map(|at| at.as_millis() as f64))
}

/// A number, or `null`.
pub(crate) fn optional_number(value: Option<f64>) -> JsValue {
    value.map(JsValue::from).unwrap_or(JsValue::NULL)
}

/// Sets `object[key]`.
pub(crate) fn set(object: &js_sys::Object, key: &str, value: JsValue) {
    set_property(object, &key.into(), &value);
}

#[wasm_bindgen]
extern "C" {
    /// `Reflect.set(target, key, value)`, for fresh plain objects and arrays only, where it
    /// cannot throw: unlike js-sys's, it has no `catch`, whose wrapper and `Result` cost code at
    /// every property the boundary writes.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn set_property(target: &JsValue, key: &JsValue, value: &JsValue) -> bool;
}
