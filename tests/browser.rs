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

/// Decoding runs in the browser's wasm just as natively: non-ASCII claims and a float `exp`.
#[wasm_bindgen_test]
fn decodes_a_token_with_non_ascii_claims_and_float_exp() {
    // {"alg":"HS256","typ":"JWT"} . {"sub":"42","name":"Zoë 山田","exp":1700000000.5}
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                 eyJzdWIiOiI0MiIsIm5hbWUiOiJab8OrIOWxseeUsCIsImV4cCI6MTcwMDAwMDAwMC41fQ.c2ln";
    let decoded = tokenkeeper::decode_unverified(token).expect("a well-formed token");
    let claims = decoded.claims();
    assert_eq!(claims.sub().as_deref(), Some("42"));
    assert_eq!(
        claims.get("name").and_then(|v| v.as_str()),
        Some("Zoë 山田")
    );
    assert_eq!(claims.exp().map(|t| t.as_millis()), Some(1_700_000_000_500));
    assert!(tokenkeeper::decode_unverified("only.two").is_err());
}

#[path = "common/decode_cases.rs"]
mod decode_cases;

/// The JavaScript fast path of `decodeClaims` accepts only what the Rust decoder accepts, with
/// the same claims, and accepts every common token. Here long payloads go through the
/// browser's own `Uint8Array.prototype.setFromBase64`.
#[wasm_bindgen_test]
fn decode_fast_path_agrees_with_rust() {
    let prototype = js_sys::Object::get_prototype_of(&js_sys::Uint8Array::new_with_length(0));
    assert!(
        js_sys::Reflect::has(&prototype, &"setFromBase64".into()).unwrap_or(false),
        "this browser has no setFromBase64: the native path goes untested"
    );
    decode_cases::assert_fast_path_agrees(|token| {
        tokenkeeper::decode_unverified(token)
            .map(|decoded| decoded.claims().payload_json().to_owned())
            .map_err(|e| e.to_string())
    });
}
