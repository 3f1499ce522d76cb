//! Fuzz target `json_check`: the strict JSON check (`src/logic/json_check.rs`) must accept exactly
//! the texts serde_json parses into a `Value`, on any UTF-8 input, and never panic.
//!
//! Unlike the other targets this one needs no shared check in `fuzz/checks/`: its oracle is
//! serde_json itself, and any disagreement belongs in the module's own table test.
#![no_main]

// The module is private to the crate and uses nothing else of it, so its source is compiled in
// here directly (its native tests are `cfg(test)` and stay out).
#[path = "../../src/logic/json_check.rs"]
mod json_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = serde_json::from_str::<serde_json::Value>(text);
    assert_eq!(
        json_check::is_strict_json(text),
        parsed.is_ok(),
        "disagrees with serde_json on {text:?}"
    );
    // Only a strict object root has keys that can repeat.
    if json_check::root_repeats_any(text, &["alg", "a", ""]) {
        assert!(
            matches!(parsed, Ok(serde_json::Value::Object(_))),
            "a repeat outside a root object in {text:?}"
        );
    }
});
