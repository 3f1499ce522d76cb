//! Fuzz target `reply`: see `fuzz/checks/reply.rs` for what it feeds and checks.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::reply::check(data);
});
