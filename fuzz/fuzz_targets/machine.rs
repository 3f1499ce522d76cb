//! Fuzz target `machine`: see `fuzz/checks/machine.rs` for the driver model and the invariants.
//!
//! `TOKENKEEPER_FUZZ_MUTANT=<name>` runs it against a simulated machine bug instead (names in
//! `checks::machine::Mutant::ALL`), to show that the invariant checks catch it.
#![no_main]

#[allow(dead_code)]
#[path = "../checks/mod.rs"]
mod checks;

use checks::machine::{check_with, Mode, Mutant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static MUTANT: std::sync::OnceLock<Mutant> = std::sync::OnceLock::new();
    let mutant = *MUTANT.get_or_init(Mutant::from_env);
    check_with(data, Mode::Full, mutant);
});
