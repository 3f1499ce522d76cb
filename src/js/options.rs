//! The app's options object to [`AuthClientOptions`], with the checks and messages the package
//! has always given: an object, no unknown option (serde-wasm-bindgen would ignore a typo), and
//! each refusal naming the option at fault.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::logic::config::AuthClientOptions;
use crate::logic::error::AuthError;
use crate::logic::option_names::unknown_option;

/// The own keys of `options` (`parent` `None`), or of the object given under `parent` (of every
/// object in it, when it is a list: `logout`); none when that is not an object. What
/// [`unknown_option`] checks.
fn option_keys(options: &JsValue, parent: Option<&str>) -> Vec<String> {
    let object = match parent {
        None => options.clone(),
        Some(name) => js_sys::Reflect::get(options, &name.into()).unwrap_or_default(),
    };
    let own_keys = |object: JsValue| -> Vec<String> {
        if !object.is_object() || js_sys::Array::is_array(&object) {
            return Vec::new();
        }
        js_sys::Object::keys(object.unchecked_ref::<js_sys::Object>())
            .iter()
            .filter_map(|key| key.as_string())
            .collect()
    };
    match object.dyn_into::<js_sys::Array>() {
        Ok(list) if parent.is_some() => list.iter().flat_map(own_keys).collect(),
        Ok(list) => own_keys(list.into()),
        Err(object) => own_keys(object),
    }
}

/// The options (without `storage`) through serde-wasm-bindgen. A failure names the option at
/// fault, which serde-wasm-bindgen's messages do not: each option is tried again alone beside
/// `baseUrl`. That runs only on this error path; a path-tracking deserializer
/// (serde_path_to_error) would have cost the package 3.3 KB gzip.
fn deserialize_options(options: &js_sys::Object) -> Result<AuthClientOptions, AuthError> {
    let error = match serde_wasm_bindgen::from_value(options.into()) {
        Ok(options) => return Ok(options),
        Err(error) => JsValue::from(error),
    };
    let base_url = js_sys::Reflect::get(options, &"baseUrl".into()).unwrap_or_default();
    let fails_with = |key: &JsValue| {
        let alone = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&alone, &"baseUrl".into(), &base_url);
        if let Some(key) = key.as_string().filter(|key| key != "baseUrl") {
            let value = js_sys::Reflect::get(options, &key.as_str().into()).unwrap_or_default();
            let _ = js_sys::Reflect::set(&alone, &key.into(), &value);
        }
        serde_wasm_bindgen::from_value::<AuthClientOptions>(alone.into()).is_err()
    };
    let culprit = std::iter::once(JsValue::from("baseUrl"))
        .chain(js_sys::Object::keys(options).iter())
        .find(fails_with)
        .and_then(|key| key.as_string());
    // serde's own message; a JS exception raised while reading (a lookup on a string where an
    // array belongs) says nothing useful to the caller.
    let message = match error.dyn_ref::<js_sys::Error>() {
        Some(error) if error.name() == "Error" => String::from(error.message()),
        _ => String::from("a value of the wrong type"),
    };
    Err(AuthError::config(match culprit {
        Some(name) => format!("option `{name}`: {message}"),
        None => format!("invalid options: {message}"),
    }))
}

/// The app's options as the core reads them. The JavaScript driver has taken out `storage` (an
/// object is a custom adapter, which serde cannot carry; the driver picks the storage and tells
/// the core its kind); a `storage` still present is ignored here all the same.
pub(crate) fn parse_options(options: &JsValue) -> Result<AuthClientOptions, AuthError> {
    if !options.is_object() {
        return Err(AuthError::config(
            "options must be an object with a baseUrl",
        ));
    }
    if let Some((name, known)) = unknown_option(|parent| option_keys(options, parent)) {
        let known: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
        return Err(AuthError::config(format!(
            "unknown option `{name}`, expected one of {}",
            known.join(", ")
        )));
    }
    let copy = js_sys::Object::assign(&js_sys::Object::new(), options.unchecked_ref());
    // Undefined fields are "not given"; serde-wasm-bindgen treats them as missing.
    let _ = js_sys::Reflect::delete_property(&copy, &"storage".into());
    // `logout` may be one call (an object): serde reads a list.
    let logout = js_sys::Reflect::get(&copy, &"logout".into()).unwrap_or_default();
    if logout.is_object() && !js_sys::Array::is_array(&logout) {
        let _ = js_sys::Reflect::set(&copy, &"logout".into(), &js_sys::Array::of1(&logout));
    }
    deserialize_options(&copy)
}
