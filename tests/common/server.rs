//! The companion server for the browser suites that talk to it (tests/browser_client.rs,
//! tests/browser_wake.rs). Its URL is read at build time from `TOKENKEEPER_TEST_SERVER`, which
//! `scripts/with-server.sh` sets after starting one.
//!
//! A suite that silently passes without its server proves nothing, so:
//! - under `make test` (`make test-chrome`, `make test-firefox`) the Makefile also sets
//!   `TOKENKEEPER_REQUIRE_SERVER=1`, and a build with that but without a server URL fails every
//!   test that needs the server;
//! - built by hand without either (`wasm-pack test … -- --test browser_client`, no server), the
//!   tests skip, and say so on the runner's own output, which is printed even when every test
//!   passes (console output is shown only for failures).
//!
//! Both variables are read with `option_env!`, which cargo tracks: changing either rebuilds the
//! suite.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Writes `line` to the console and where the test runner's output goes: wasm-bindgen-test's
/// runner prints the text of the page's `#output` element as the suite runs. Through `Reflect`
/// rather than an `inline_js` snippet, which would be one more module for the page to load.
fn shout(line: &str) {
    web_sys::console::warn_1(&line.into());
    let get = |target: &JsValue, name: &str| Reflect::get(target, &name.into()).ok();
    let Some(document) = get(&js_sys::global(), "document").filter(JsValue::is_object) else {
        return;
    };
    let output = get(&document, "getElementById")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call1(&document, &"output".into()).ok())
        .filter(JsValue::is_object);
    if let Some(output) = output {
        let text = get(&output, "textContent")
            .and_then(|text| text.as_string())
            .unwrap_or_default();
        let _ = Reflect::set(
            &output,
            &"textContent".into(),
            &format!("{text}{line}\n").into(),
        );
    }
}

/// Whether this page has already said that it skips.
static SAID: AtomicBool = AtomicBool::new(false);

/// The companion server's URL, or `None` when the suite was built without one (then the test
/// returns early, after a loud "SKIPPED" line). Panics when the build required a server
/// (`TOKENKEEPER_REQUIRE_SERVER`, set by the Makefile) but was not given one.
pub fn server() -> Option<&'static str> {
    let url = option_env!("TOKENKEEPER_TEST_SERVER").filter(|url| !url.is_empty());
    if url.is_some() {
        return url;
    }
    let required =
        option_env!("TOKENKEEPER_REQUIRE_SERVER").is_some_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "TOKENKEEPER_REQUIRE_SERVER is set but TOKENKEEPER_TEST_SERVER is not: these tests need \
         the companion server; run them through scripts/with-server.sh (as make test does)"
    );
    if !SAID.swap(true, Ordering::Relaxed) {
        shout(
            "SKIPPED: the tests of this suite that need the companion server pass without \
             running, because TOKENKEEPER_TEST_SERVER was not set at build time. Run the suite \
             through scripts/with-server.sh (make test does) to run them.",
        );
    }
    None
}
