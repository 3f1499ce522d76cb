//! The Rust API of `AuthClient`, used directly from a wasm app in a real browser, against the
//! companion server (`make test-chrome` / `make test-firefox` start one; its URL is read at
//! build time from `TOKENKEEPER_TEST_SERVER`, the way gloo's HTTP tests read theirs; see
//! tests/common/server.rs for what happens without one).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use tokenkeeper::{AuthClient, AuthClientOptions, AuthEvent, ErrorCode, StorageChoice};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

// The companion server: `None` when run by hand without one (the tests skip, loudly); under
// `make test` a missing server fails them.
#[path = "common/join.rs"]
mod join;
#[path = "common/server.rs"]
mod server;
use join::join;
use server::server;

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
    let email = me.get("email").and_then(tokenkeeper::Json::as_str);
    assert_eq!(email, Some("admin@example.com"));

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

fn options(server: &str, key: &str) -> AuthClientOptions {
    let mut options = AuthClientOptions::new(server);
    options.storage_key = Some(key.to_owned());
    options
}

#[wasm_bindgen_test]
async fn a_stored_session_is_restored_at_once_and_reported_as_initial_session() {
    let Some(server) = server() else { return };
    let key = format!("tk-restore-{}", js_sys::Math::random());
    let first = AuthClient::new(options(server, &key), StorageChoice::Local).expect("options");
    let session = first
        .login("user@example.com", "user-password")
        .await
        .expect("login");
    next_tick().await; // the session is persisted by the effect queue
    first.dispose();

    // A new client on the same key (a reload) has the session before any await.
    let second = AuthClient::new(options(server, &key), StorageChoice::Local).expect("options");
    assert_eq!(
        second.session().map(|s| s.access_token().to_owned()),
        Some(session.access_token().to_owned())
    );
    let events = Rc::new(RefCell::new(Vec::new()));
    let seen = events.clone();
    let _subscription = second.on_auth_state_change(move |event, session| {
        seen.borrow_mut()
            .push((event, session.map(|s| s.access_token().to_owned())));
    });
    assert!(
        events.borrow().is_empty(),
        "INITIAL_SESSION is delivered asynchronously"
    );
    next_tick().await;
    assert_eq!(
        *events.borrow(),
        vec![(
            AuthEvent::InitialSession,
            Some(session.access_token().to_owned())
        )]
    );
    second.logout().await.expect("logout");
}

#[wasm_bindgen_test]
async fn garbage_in_storage_is_discarded_not_fatal() {
    let Some(server) = server() else { return };
    let key = format!("tk-garbage-{}", js_sys::Math::random());
    let storage = web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .expect("localStorage");
    storage
        .set_item(&key, "{\"v\":1,\"accessToken\":42}")
        .expect("write garbage");
    let client = AuthClient::new(options(server, &key), StorageChoice::Local).expect("options");
    assert!(client.session().is_none());
    assert_eq!(
        client.diagnostics().last_error.map(|e| e.code()),
        Some(ErrorCode::Storage)
    );
    next_tick().await;
    assert_eq!(
        storage.get_item(&key).ok().flatten(),
        None,
        "garbage removed"
    );
    // The client still works.
    client
        .login("user@example.com", "user-password")
        .await
        .expect("login after garbage");
    client.logout().await.expect("logout");
}

#[wasm_bindgen_test]
async fn two_clients_with_different_keys_coexist() {
    let Some(server) = server() else { return };
    let salt = js_sys::Math::random();
    let admin = AuthClient::new(
        options(server, &format!("tk-a-{salt}")),
        StorageChoice::Local,
    )
    .expect("options");
    let user = AuthClient::new(
        options(server, &format!("tk-b-{salt}")),
        StorageChoice::Local,
    )
    .expect("options");
    admin
        .login("admin@example.com", "admin-password")
        .await
        .expect("admin login");
    assert!(user.session().is_none(), "the other key is untouched");
    user.login("user@example.com", "user-password")
        .await
        .expect("user login");
    assert!(admin.has_role("admin") && !user.has_role("admin"));
    admin.logout().await.expect("logout");
    assert!(admin.session().is_none());
    assert!(user.is_authenticated(), "logging one out leaves the other");
    user.logout().await.expect("logout");
}

#[wasm_bindgen_test]
async fn dispose_stops_listeners_and_rejects_later_calls() {
    let Some(server) = server() else { return };
    let client = client(server);
    let count = Rc::new(RefCell::new(0));
    let seen = count.clone();
    let _subscription = client.on_auth_state_change(move |_, _| *seen.borrow_mut() += 1);
    next_tick().await;
    assert_eq!(*count.borrow(), 1, "INITIAL_SESSION");
    client.dispose();
    let error = client
        .login("user@example.com", "user-password")
        .await
        .expect_err("a disposed client does nothing");
    assert_eq!(error.code(), ErrorCode::Config);
    next_tick().await;
    assert_eq!(*count.borrow(), 1, "no events after dispose");
}

#[wasm_bindgen_test]
async fn concurrent_token_requests_and_refreshes_share_one_request() {
    let Some(server) = server() else { return };
    let client = client(server);
    client
        .login("user@example.com", "user-password")
        .await
        .expect("login");
    let before = refresh_requests(server).await;
    let (c1, c2, c3) = (client.clone(), client.clone(), client.clone());
    let ((a, b), c) = join(
        join(async move { c1.refresh().await }, async move {
            c2.refresh().await
        }),
        async move { c3.refresh().await },
    )
    .await;
    let tokens: Vec<String> = [a, b, c]
        .into_iter()
        .map(|r| r.expect("refresh").access_token().to_owned())
        .collect();
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "one shared result");
    assert_eq!(refresh_requests(server).await - before, 1, "one request");
    client.logout().await.expect("logout");
}

/// How many refresh requests the test-mode server has answered so far.
async fn refresh_requests(server: &str) -> u64 {
    let response = gloo_net::http::Request::get(&format!("{server}/__stats"))
        .send()
        .await
        .expect("stats");
    let text = response.text().await.expect("stats body");
    let stats: serde_json::Value = serde_json::from_str(&text).expect("stats JSON");
    stats["routes"]["POST /auth/refresh"]["count"]
        .as_u64()
        .unwrap_or(0)
}
