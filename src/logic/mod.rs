//! The pure core: everything tokenkeeper decides, with no JavaScript in reach.
//!
//! Nothing here may import `js_sys`, `web_sys`, `gloo_*` or `wasm_bindgen`, nor reach them through
//! the crate's own `browser` and `js` layers: imported JS functions abort on native targets, so a
//! core that called them could not be tested with `cargo test`. The test at the bottom of this
//! file enforces it.
//!
//! JSON text is the one thing the core hands to its platform: it parses and writes JSON through
//! `crate::platform`, chosen at compile time (serde_json natively, the JavaScript engine in
//! wasm), and reads the values as [`json::Json`]. The native tests therefore run every rule with
//! serde_json; the browser suites run the same rules over `JSON.parse`.
//!
//! The core's unit tests run natively (`cargo test`), never in wasm: that is the point of keeping
//! it pure, and their tools (proptest, the file system) are native-only. Each test module is
//! therefore `#[cfg(all(test, not(target_arch = "wasm32")))]`.

pub mod config;
pub mod error;
/// JSON values as the core reads them, whoever parsed the text.
pub mod json;
/// A strict JSON check with serde_json's exact accept/refuse answer, run before the JS engine's
/// laxer `JSON.parse`.
pub mod json_check;
/// Server logout as the backend wants it: the calls of the `logout` option.
pub mod logout;
pub(crate) mod option_names;
/// The app's options read from a `Json` value: `AuthClientOptions::from_json`.
pub mod options_json;
pub mod protocol;
pub mod roles;
pub mod schedule;
pub mod session;
pub mod time;
pub mod token;
#[cfg(feature = "verify")]
pub mod verify;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod presets_tests;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod skew_tests;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod purity_tests {
    use std::path::Path;

    /// Whether a line of code reaches into the crate's JS layers: `crate::browser`, `crate::js`,
    /// or either one inside a grouped `use crate::{…}`.
    fn names_a_js_layer(line: &str) -> bool {
        let layers = ["browser", "js"];
        layers
            .iter()
            .any(|layer| line.contains(&format!("crate::{layer}")))
            || line.split("crate::{").skip(1).any(|group| {
                group
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| layers.contains(&word))
            })
    }

    #[test]
    fn the_layer_check_sees_every_spelling() {
        for line in [
            "use crate::browser::http;",
            "use crate::js::client;",
            "use crate::{browser, logic};",
            "use crate::{logic::time, js::mod};",
            "let x = crate::browser::storage::Store::open(c);",
        ] {
            assert!(names_a_js_layer(line), "{line}");
        }
        for line in [
            "use crate::logic::time;",
            "use crate::{logic, jsonish};",
            "let js = 1;",
        ] {
            assert!(!names_a_js_layer(line), "{line}");
        }
    }

    /// Every file of the core, read from disk, must not name a JS binding crate or the crate's
    /// own JS layers.
    #[test]
    fn core_never_imports_js_bindings() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/logic");
        let forbidden = ["js_sys", "web_sys", "gloo", "wasm_bindgen"];
        let mut checked = 0;
        let mut folders = vec![root.clone()];
        while let Some(dir) = folders.pop() {
            for entry in std::fs::read_dir(&dir).expect("src/logic is readable") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                // This file names the crates and layers in these tests; skip the tests.
                let code: String = text
                    .split("mod purity_tests")
                    .next()
                    .unwrap_or_default()
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                for name in forbidden {
                    assert!(
                        !code.contains(name),
                        "{} names `{name}`: the core must stay free of JS bindings",
                        path.display()
                    );
                }
                if let Some(line) = code.lines().find(|line| names_a_js_layer(line)) {
                    panic!(
                        "{} reaches a JS layer (`{}`): the core must stay free of JS bindings",
                        path.display(),
                        line.trim()
                    );
                }
                checked += 1;
            }
        }
        assert!(
            checked >= 8,
            "expected the core modules in {}",
            root.display()
        );
    }
}
