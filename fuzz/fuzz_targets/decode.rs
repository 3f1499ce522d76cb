//! Fuzz target `decode`: see `fuzz/checks/decode.rs` for what it feeds and checks.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decode::check(data));
