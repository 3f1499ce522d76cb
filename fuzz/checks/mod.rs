//! The checks behind the fuzz targets, shared with the regression test.
//!
//! Each fuzz target (`fuzz/fuzz_targets/<target>.rs`) is one line: it hands libFuzzer's bytes to
//! the `check` function of the module of the same name here. `tests/fuzz_regressions.rs` includes
//! this same module (`#[path]`) and replays every file under `fuzz/regressions/<target>/` through
//! the same function, so an input that once crashed stays a plain `cargo test` forever, and the
//! checks cannot drift apart between fuzzing and testing.
//!
//! A check panics when it finds a problem: a panic inside the library, or a broken property or
//! invariant (with a message saying which). libFuzzer reports a panic as a crash and saves the
//! input; `cargo test` reports it as a failed test.
//!
//! The inputs are raw bytes read through [`input::Input`] rather than `arbitrary` types, so the
//! regression test needs no crate the main package does not already have.

pub mod decode;
pub mod input;
pub mod machine;
pub mod reply;
pub mod stored_session;
pub mod tab_message;
pub mod world;

/// A check: panics on a problem with the input.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name: the directory names under `fuzz/regressions/`, the binary names in
/// `fuzz/Cargo.toml` and the targets `scripts/fuzz.sh` runs.
pub const TARGETS: [(&str, Check); 5] = [
    ("decode", decode::check),
    ("reply", reply::check),
    ("stored_session", stored_session::check),
    ("tab_message", tab_message::check),
    ("machine", machine::check),
];
