//! wasm unit tests of the `decodeClaims` export (run in Node by `wasm-pack test`): on every
//! shared case it returns the claims of [`decode_unverified`] or throws the `AuthError` that
//! the Rust error becomes, whichever path decoded the token.

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

use super::decode_claims;
use crate::logic::error::AuthError;
use crate::logic::token::decode_unverified;

#[path = "../../tests/common/decode_cases.rs"]
mod decode_cases;

fn field(error: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(error, &name.into()).unwrap_or_default()
}

fn rust(token: &str) -> decode_cases::RustVerdict {
    decode_unverified(token)
        .map(|decoded| decoded.claims().payload_json().to_owned())
        .map_err(|e| e.to_string())
}

#[wasm_bindgen_test]
fn decode_claims_agrees_with_decode_unverified() {
    let (mut accepted, mut refused) = (0, 0);
    for case in decode_cases::all() {
        let label = &case.label;
        match (
            decode_unverified(&case.token),
            decode_claims(JsValue::from_str(&case.token)),
        ) {
            (Ok(decoded), Ok(claims)) => {
                accepted += 1;
                let expected =
                    js_sys::JSON::parse(decoded.claims().payload_json()).expect("payload JSON");
                assert_eq!(
                    decode_cases::stringify(&claims),
                    decode_cases::stringify(&expected),
                    "{label}: other claims"
                );
            }
            (Err(rust), Err(error)) => {
                refused += 1;
                assert!(
                    error.is_instance_of::<js_sys::Error>(),
                    "{label}: {error:?}"
                );
                assert_eq!(
                    field(&error, "name").as_string().as_deref(),
                    Some("AuthError")
                );
                assert_eq!(
                    field(&error, "code").as_string().as_deref(),
                    Some("invalid_token"),
                    "{label}"
                );
                assert_eq!(
                    field(&error, "message").as_string(),
                    Some(AuthError::from(rust).to_string()),
                    "{label}: the message is Rust's"
                );
            }
            (Ok(_), Err(error)) => panic!("{label}: decodeClaims threw {error:?}, Rust accepts"),
            (Err(error), Ok(claims)) => assert!(
                decode_cases::is_duplicate_key_divergence(
                    &case.token,
                    &error.to_string(),
                    &claims,
                    &rust
                ),
                "{label}: decodeClaims accepted, Rust refuses ({error})"
            ),
        }
    }
    assert!(
        accepted >= 200 && refused >= 500,
        "{accepted} accepted, {refused} refused"
    );
}

#[wasm_bindgen_test]
fn decode_claims_refuses_what_is_not_a_string() {
    let object = js_sys::Object::new();
    // `new String(token)`: an object, not a string.
    let string_class = js_sys::Reflect::get(&js_sys::global(), &"String".into()).expect("String");
    let string_object = js_sys::Reflect::construct(
        string_class.unchecked_ref::<js_sys::Function>(),
        &js_sys::Array::of1(&"a.b.c".into()),
    )
    .expect("new String()");
    for value in [
        JsValue::UNDEFINED,
        JsValue::NULL,
        JsValue::from(5),
        JsValue::TRUE,
        object.into(),
        string_object,
    ] {
        let Err(error) = decode_claims(value.clone()) else {
            panic!("{value:?} decoded");
        };
        assert_eq!(
            field(&error, "code").as_string().as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            field(&error, "message").as_string().as_deref(),
            Some("token must be a string")
        );
    }
}
