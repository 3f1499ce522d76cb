//! The fuzzers' findings as plain tests: every file under `fuzz/regressions/<target>/` is replayed
//! through the same check the fuzz target `<target>` runs (`fuzz/checks/`, included below), so a
//! crash found once stays fixed. `make fuzz` (scripts/fuzz.sh, bench/FUZZING.md) finds them;
//! this file only replays them, in milliseconds, as part of `cargo test`.
//!
//! To keep a new finding: minimize it (`cargo fuzz tmin <target> <artifact>`), copy the result
//! to `fuzz/regressions/<target>/<short-name>`, and fix the bug; until it is fixed, name the file
//! `known-bug-<name>`, which the replay skips, and say so in `bench/FUZZING.md`. The inputs of
//! the bugs found so far, all fixed, are named `fixed-<name>`.
//!
//! Native only: the checks read files from disk, and the core they exercise is pure Rust that
//! the native tests already cover for every target.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)]
#[path = "../fuzz/checks/mod.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use checks::machine::{check_with, Mode, Mutant};

fn regressions(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target)
}

/// The files of a directory, sorted (empty when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn is_known_bug(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("known-bug-"))
}

/// Replays every file of `target` but the known bugs; fails naming each file that fails.
fn replay(target: &str) -> usize {
    let check = checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, check)| *check)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let mut failed = Vec::new();
    let inputs: Vec<PathBuf> = files(&regressions(target))
        .into_iter()
        .filter(|path| !is_known_bug(path))
        .collect();
    for path in &inputs {
        let data = std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "fuzz regressions fail: {failed:?}");
    inputs.len()
}

#[test]
fn decode_regressions_pass() {
    replay("decode");
}

#[test]
fn reply_regressions_pass() {
    replay("reply");
}

#[test]
fn stored_session_regressions_pass() {
    replay("stored_session");
}

#[test]
fn tab_message_regressions_pass() {
    replay("tab_message");
}

#[test]
fn machine_regressions_pass() {
    replay("machine");
}

/// Every target has regression inputs, so the replay above is never vacuous.
#[test]
fn every_target_has_regression_inputs() {
    for (target, _) in checks::TARGETS {
        let count = files(&regressions(target))
            .iter()
            .filter(|path| !is_known_bug(path))
            .count();
        assert!(count > 0, "fuzz/regressions/{target}/ holds no inputs");
    }
}

/// The machine's invariant checks can fail: for each simulated bug ([`Mutant`]), the input the
/// fuzzer found under `TOKENKEEPER_FUZZ_MUTANT=<name>` (kept in `fuzz/mutants/<name>`) breaks
/// an invariant with the bug, and passes without it.
#[test]
fn machine_checks_catch_simulated_bugs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/mutants");
    for (name, mutant) in Mutant::ALL {
        let path = dir.join(name);
        let data = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let caught = catch_unwind(AssertUnwindSafe(|| check_with(&data, Mode::Full, mutant)));
        assert!(caught.is_err(), "the checks miss the simulated bug {name}");
        check_with(&data, Mode::Full, Mutant::None);
    }
}
