//! The pure core: everything tokenkeeper decides, with no JavaScript in reach.
//!
//! Nothing here may import `js_sys`, `web_sys`, `gloo_*` or `wasm_bindgen`: imported JS functions
//! abort on native targets, so a core that called them could not be tested with `cargo test`.
//! The test at the bottom of this file enforces it.
//!
//! The core's unit tests run natively (`cargo test`), never in wasm: that is the point of keeping
//! it pure, and their tools (proptest, the file system) are native-only. Each test module is
//! therefore `#[cfg(all(test, not(target_arch = "wasm32")))]`.

pub mod config;
pub mod error;
pub(crate) mod option_names;
pub mod protocol;
pub mod roles;
pub mod schedule;
pub mod session;
pub mod time;
pub mod token;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod purity_tests {
    use std::path::Path;

    /// Every file of the core, read from disk, must not name a JS binding crate.
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
                // This file names the crates in the list above; skip the list itself.
                let code: String = text
                    .lines()
                    .filter(|line| !line.contains("let forbidden"))
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
