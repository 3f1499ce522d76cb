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
