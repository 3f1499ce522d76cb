//! The Rust API of `AuthClient`, used directly from a wasm app in a real browser, against the
//! companion server (`make test-chrome` / `make test-firefox` start one; its URL is read at
//! build time from `TOKENKEEPER_TEST_SERVER`, the way gloo's HTTP tests read theirs).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use tokenkeeper::{AuthClient, AuthClientOptions, AuthEvent, ErrorCode, StorageChoice};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The companion server, when the build was given one.
fn server() -> Option<&'static str> {
    let url = option_env!("TOKENKEEPER_TEST_SERVER");
    if url.is_none() {
        web_sys::console::warn_1(
            &"skipped: TOKENKEEPER_TEST_SERVER was not set at build time (make test sets it)"
                .into(),
        );
    }
    url
}

fn client(server: &str) -> AuthClient {
    let mut options = AuthClientOptions::new(server);
    // A key per test: the suite shares one page and one localStorage.
    options.storage_key = Some(format!("tk-rust-test-{}", js_sys::Math::random()));
    AuthClient::new(options, StorageChoice::Memory).expect("valid options")
}

async fn next_tick() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

#[wasm_bindgen_test]
async fn rust_api_logs_in_reads_me_and_logs_out() {
    let Some(server) = server() else { return };
    let client = client(server);
    let events = Rc::new(RefCell::new(Vec::new()));
    let seen = events.clone();
    let _subscription = client.on_auth_state_change(move |event, session| {
        seen.borrow_mut().push((event, session.is_some()));
    });

    let session = client
        .login("admin@example.com", "admin-password")
        .await
        .expect("the seed admin logs in");
    assert_eq!(session.claims().email(), Some("admin@example.com"));
    assert!(client.is_authenticated());
    assert!(client.has_role("admin"));
    assert!(!client.has_all_roles(&["admin", "auditor"]));
    assert!(client.expires_at().is_some());

    let token = client.get_access_token().await.expect("a token");
    assert_eq!(token.as_deref(), Some(session.access_token()));
    let me = client.me().await.expect("me answers");
    assert_eq!(me["email"], "admin@example.com");

    client.logout().await.expect("logout resolves");
    assert!(client.session().is_none());
    assert_eq!(client.get_access_token().await.expect("no error"), None);
    next_tick().await;
    assert_eq!(
        *events.borrow(),
        vec![
            (AuthEvent::InitialSession, false),
            (AuthEvent::SignedIn, true),
            (AuthEvent::SignedOut, false),
        ]
    );
}

#[wasm_bindgen_test]
async fn rust_api_reports_bad_credentials_with_their_code() {
    let Some(server) = server() else { return };
    let client = client(server);
    let error = client
        .login("user@example.com", "wrong-password")
        .await
        .expect_err("a wrong password is refused");
    assert_eq!(error.code(), ErrorCode::InvalidCredentials);
    assert_eq!(error.status(), Some(401));
    assert!(client.session().is_none());
}

#[wasm_bindgen_test]
async fn rust_api_refreshes_and_concurrent_calls_share_one_refresh() {
    let Some(server) = server() else { return };
    let client = client(server);
    let first = client
        .login("user@example.com", "user-password")
        .await
        .expect("login");
    let (one, two) = (client.clone(), client.clone());
    let (a, b) = join(async move { one.refresh().await }, async move {
        two.refresh().await
    })
    .await;
    let (a, b) = (a.expect("refresh a"), b.expect("refresh b"));
    assert_eq!(
        a.access_token(),
        b.access_token(),
        "both callers share one refresh"
    );
    assert_ne!(
        a.refresh_token(),
        first.refresh_token(),
        "the server rotated"
    );
    assert_eq!(client.diagnostics().refresh_count, 1);
}

/// Runs two futures concurrently on the page's event loop and waits for both.
async fn join<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: std::future::Future + 'static,
    B: std::future::Future + 'static,
{
    let (send_a, done_a) = futures_channel::oneshot::channel();
    let (send_b, done_b) = futures_channel::oneshot::channel();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = send_a.send(a.await);
    });
    wasm_bindgen_futures::spawn_local(async move {
        let _ = send_b.send(b.await);
    });
    (done_a.await.expect("a ran"), done_b.await.expect("b ran"))
}
