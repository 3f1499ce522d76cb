//! wasm-bindgen-test suite for what needs no browser: it runs in Node (`wasm-pack test --node`).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

/// The suite really runs under Node: `process.versions.node` exists.
#[wasm_bindgen_test]
fn runs_under_node() {
    let global = js_sys::global();
    let process = js_sys::Reflect::get(&global, &"process".into()).unwrap_or_default();
    let versions = js_sys::Reflect::get(&process, &"versions".into()).unwrap_or_default();
    let node = js_sys::Reflect::get(&versions, &"node".into()).unwrap_or_default();
    assert!(node.as_string().is_some(), "expected process.versions.node");
}

/// The wasm module answers with the crate's version under Node as well.
#[wasm_bindgen_test]
fn version_is_the_crate_version() {
    assert_eq!(tokenkeeper::version(), env!("CARGO_PKG_VERSION"));
}

#[path = "common/decode_cases.rs"]
mod decode_cases;

/// The JavaScript fast path of `decodeClaims` accepts only what the Rust decoder accepts, with
/// the same claims, and accepts every common token. Node 20 has no
/// `Uint8Array.prototype.setFromBase64`, so here every payload is decoded in JavaScript.
#[wasm_bindgen_test]
fn decode_fast_path_agrees_with_rust() {
    decode_cases::assert_fast_path_agrees(|token| {
        tokenkeeper::decode_unverified(token)
            .map(|decoded| decoded.claims().payload_json().to_owned())
            .map_err(|e| e.to_string())
    });
}

/// `Json` is written as `JSON.stringify` writes it in the wasm build, integers beyond 2^53
/// included: serde-wasm-bindgen refuses an `i64` there, which once made the whole text empty
/// (request bodies and the stored session with it).
#[wasm_bindgen_test]
fn json_numbers_write_as_json_stringify_writes_them() {
    use tokenkeeper::{Json, JsonObject};
    let mut object = JsonObject::new();
    object.insert("big", Json::Number(1e18));
    object.insert("int", Json::Number(42.0));
    object.insert("neg", Json::Number(-0.0));
    object.insert("frac", Json::Number(1.5));
    assert_eq!(
        Json::Object(object).to_json_text(),
        r#"{"big":1000000000000000000,"int":42,"neg":0,"frac":1.5}"#
    );
}
