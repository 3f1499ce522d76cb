//! Fuzz target `tab_message`: see `fuzz/checks/tab_message.rs` for what it feeds and checks.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::tab_message::check(data);
});
