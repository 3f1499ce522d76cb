//! The core's one seam to its platform, the JSON codec: text to values and back
//! (`logic::json`).
//!
//! Native builds use serde_json. The wasm module leaves JSON text to the JavaScript engine
//! (`JSON.parse`, `JSON.stringify`) and carries the values across with serde-wasm-bindgen, so it
//! holds no JSON parser and no float parsing or printing (`bench/SIZE-ANALYSIS.md`, section 10).
//! `JSON.parse` accepts a little more than serde_json (a number beyond f64, a lone surrogate,
//! nesting past 127 levels): [`crate::logic::json_check`] refuses those first, so a text is
//! accepted or refused the same on both platforms. The values agree too, but for numbers that
//! serde_json (not correctly rounded) reads as finite near `f64::MAX` where `JSON.parse` gives
//! `Infinity`: no rule of the SDK reads a number that large as anything but out of range.
//!
//! The seam is chosen at compile time: the core names no JS binding (its native tests run it with
//! serde_json), and the wasm build pays for no codec it does not use.

use serde::de::DeserializeOwned;
use serde::Serialize;

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn parse_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_str(text).ok()
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn write_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Strings, numbers and the core's own types: serializing them cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn parse_json<T: DeserializeOwned>(text: &str) -> Option<T> {
    if !crate::logic::json_check::is_strict_json(text) {
        return None;
    }
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn write_json<T: Serialize + ?Sized>(value: &T) -> String {
    to_js(value)
        .and_then(|value| js_sys::JSON::stringify(&value).ok())
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// A JavaScript value as a [`Json`](crate::logic::json::Json) value, the way `parse_json` carries
/// `JSON.parse`'s result across (`undefined` as `null`); `None` for what JSON has no form of (a
/// function, a symbol, a `Set`, a typed array).
pub(crate) fn js_to_json(value: &wasm_bindgen::JsValue) -> Option<crate::logic::json::Json> {
    serde_wasm_bindgen::from_value(value.clone()).ok()
}

/// `value` as a JavaScript value shaped like its JSON: objects, not `Map`s; `None` as `null`.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Option<wasm_bindgen::JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
}
