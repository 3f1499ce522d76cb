//! wasm-bindgen-test suite that runs inside a real browser (headless Chromium and Firefox).
//!
//! Run: `wasm-pack test --headless --chrome` or `--firefox` (see the Makefile for the flags
//! this machine needs).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The suite really runs in a page: a `document` exists, which Node does not have.
#[wasm_bindgen_test]
fn runs_inside_a_browser_page() {
    let global = js_sys::global();
    let has_document = js_sys::Reflect::has(&global, &"document".into()).unwrap_or(false);
    assert!(has_document, "expected a browser global with a document");
}

/// The exported version is the crate's, in `major.minor.patch` form.
#[wasm_bindgen_test]
fn version_is_the_crate_version() {
    let version = tokenkeeper::version();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    assert_eq!(version.split('.').count(), 3, "not semver: {version}");
}
