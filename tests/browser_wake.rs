//! Timers stall while a laptop sleeps or a tab is in the background. These tests freeze the
//! page's `setTimeout` (so the client's refresh timer never fires, as on a suspended laptop),
//! let the access token run out on the real clock, and check the client catches up by the wall
//! clock: on a wake-up event, and before handing out a token.
//!
//! This file has its own page: freezing timers must not leak into the other suites.
#![cfg(target_arch = "wasm32")]

use tokenkeeper::{decode_unverified, AuthClient, AuthClientOptions, StorageChoice, Timestamp};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
export function freezeTimers() { globalThis.setTimeout = () => 0; }
export function thawTimers() { globalThis.setTimeout = realSetTimeout; }
export function sleep(ms) { return new Promise((resolve) => realSetTimeout(resolve, ms)); }
export function fire(target, name) {
  const node = target === "document" ? document : window;
  node.dispatchEvent(new Event(name));
}
export function setVisibility(state) {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = freezeTimers)]
    fn freeze_timers();
    #[wasm_bindgen(js_name = thawTimers)]
    fn thaw_timers();
    #[wasm_bindgen(js_name = sleep)]
    fn sleep_promise(ms: u32) -> js_sys::Promise;
    fn fire(target: &str, name: &str);
    #[wasm_bindgen(js_name = setVisibility)]
    fn set_visibility(state: &str);
}

async fn sleep(ms: u32) {
    let _ = wasm_bindgen_futures::JsFuture::from(sleep_promise(ms)).await;
}

// The companion server: `None` when run by hand without one (the tests skip, loudly); under
// `make test` a missing server fails them.
#[path = "common/server.rs"]
mod server;
use server::server;

fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// Logs in with frozen timers and waits on the real clock until the access token has expired.
async fn signed_in_with_frozen_timers(server: &str) -> (AuthClient, String) {
    let mut options = AuthClientOptions::new(server);
    options.storage_key = Some(format!("tk-wake-{}", js_sys::Math::random()));
    let client = AuthClient::new(options, StorageChoice::Memory).expect("valid options");
    freeze_timers();
    let session = client
        .login("user@example.com", "user-password")
        .await
        .expect("login");
    let expires_at = session.expires_at().expect("the server sets exp");
    let wait = expires_at.duration_since(now()).as_millis() as u32 + 300;
    assert!(wait < 20_000, "the test server should issue short tokens");
    sleep(wait).await;
    assert_eq!(client.diagnostics().refresh_count, 0, "no timer fired");
    assert!(!client.is_authenticated(), "the token ran out while frozen");
    (client, session.access_token().to_owned())
}

async fn wait_for_refresh(client: &AuthClient) -> bool {
    for _ in 0..60 {
        if client.diagnostics().refresh_count > 0 {
            return true;
        }
        sleep(50).await;
    }
    false
}

#[wasm_bindgen_test]
async fn a_token_asked_for_after_a_sleep_is_refreshed_first() {
    let Some(server) = server() else { return };
    let (client, stale) = signed_in_with_frozen_timers(server).await;
    let token = client.get_access_token().await.expect("a refresh succeeds");
    thaw_timers();
    let token = token.expect("still signed in");
    assert_ne!(token, stale, "never the expired token");
    let exp = decode_unverified(&token)
        .expect("a JWT")
        .claims()
        .exp()
        .expect("exp");
    assert!(exp > now(), "the token handed out is not expired");
    client.dispose();
}

#[wasm_bindgen_test]
async fn focus_after_a_sleep_refreshes_by_the_wall_clock() {
    let Some(server) = server() else { return };
    let (client, _) = signed_in_with_frozen_timers(server).await;
    fire("window", "focus");
    let refreshed = wait_for_refresh(&client).await;
    thaw_timers();
    assert!(refreshed, "focus re-checked the clock and refreshed");
    assert!(client.is_authenticated());
    client.dispose();
}

#[wasm_bindgen_test]
async fn becoming_visible_after_a_sleep_refreshes_by_the_wall_clock() {
    let Some(server) = server() else { return };
    let (client, _) = signed_in_with_frozen_timers(server).await;
    set_visibility("hidden");
    fire("document", "visibilitychange");
    sleep(200).await;
    let while_hidden = client.diagnostics().refresh_count;
    set_visibility("visible");
    fire("document", "visibilitychange");
    let refreshed = wait_for_refresh(&client).await;
    thaw_timers();
    assert_eq!(while_hidden, 0, "hiding the page is no wake-up");
    assert!(
        refreshed,
        "becoming visible re-checked the clock and refreshed"
    );
    client.dispose();
}

#[wasm_bindgen_test]
async fn the_timer_refreshes_before_expiry_when_it_can_run() {
    let Some(server) = server() else { return };
    let mut options = AuthClientOptions::new(server);
    options.storage_key = Some(format!("tk-wake-{}", js_sys::Math::random()));
    let client = AuthClient::new(options, StorageChoice::Memory).expect("valid options");
    let session = client
        .login("user@example.com", "user-password")
        .await
        .expect("login");
    let expires_at = session.expires_at().expect("exp");
    let refreshed = wait_for_refresh(&client).await;
    let refreshed_at = now();
    assert!(refreshed, "the timer refreshed on its own");
    assert!(
        refreshed_at < expires_at,
        "the refresh came before the old token expired"
    );
    assert!(client.is_authenticated());
    client.dispose();
}
