//! The app's options object to [`AuthClientOptions`]: carried across as [`Json`] (the road every
//! other JavaScript value takes into the core) and read by [`AuthClientOptions::from_json`],
//! which refuses unknown options and names the option at fault. The typed serde-wasm-bindgen
//! path it replaces cost the module about 22 KB raw (`bench/SIZE-ANALYSIS.md`).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::logic::config::AuthClientOptions;
use crate::logic::error::{fill, AuthError};
use crate::logic::json::{Json, JsonObject};
use crate::platform::js_to_json;

/// The app's options as the core reads them. The JavaScript driver has taken out `storage` (an
/// object is a custom adapter, which JSON cannot carry; the driver picks the storage and tells
/// the core its kind); a `storage` still present is ignored here all the same.
pub(crate) fn parse_options(options: &JsValue) -> Result<AuthClientOptions, AuthError> {
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(AuthError::config(
            "options must be an object with a baseUrl",
        ));
    }
    // Option by option, so that a value JSON has no form of (a function) is blamed on its option.
    let mut object = JsonObject::new();
    for entry in js_sys::Object::entries(options.unchecked_ref()).iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let Some(name) = entry.get(0).as_string().filter(|name| name != "storage") else {
            continue;
        };
        let value = js_to_json(&entry.get(1)).ok_or_else(|| {
            AuthError::config(fill("option `{}`: expected a JSON value", &[&name]))
        })?;
        // `logout` may be one call (an object): the reader takes a list.
        let value = match value {
            Json::Object(call) if name == "logout" => Json::Array(vec![Json::Object(call)]),
            value => value,
        };
        object.insert(name, value);
    }
    AuthClientOptions::from_json(&Json::Object(object))
}
